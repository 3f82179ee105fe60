"""Fusing a lexical and a vector ranking into one, as small pure functions.

`lexical` maps id → BM25 score (only the lexical candidates have one); `semantic` maps id →
cosine similarity to the query (computed exactly for every candidate from either list).
"""

from __future__ import annotations

import re

import numpy as np


def rrf(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: score(d) = Σ_r 1 / (k + rank_r(d)), ranks from 1."""
    out: dict[str, float] = {}
    for ranking in rankings:
        for rank, d in enumerate(ranking, 1):
            out[d] = out.get(d, 0.0) + 1.0 / (k + rank)
    return out


def weighted(lexical: dict[str, float], semantic: dict[str, float], lexical_weight: float) -> dict[str, float]:
    """Convex combination of normalized scores: w · bm25(d)/max bm25 + (1 − w) · cos'(d).

    cos' rescales cosine to [0, 1] over the candidates (min-max): raw cosines of one query
    sit in a narrow band whose position varies by query, while BM25 is divided by its top
    score so the best keyword match is 1. A candidate with no BM25 score gets 0 for that part.
    """
    ids = list(semantic) + [d for d in lexical if d not in semantic]
    scores = weighted_arrays(np.array([lexical.get(d, 0.0) for d in ids], np.float64),
                             np.array(list(semantic.values()), np.float64), lexical_weight)
    return dict(zip(ids, scores.tolist()))


def weighted_arrays(lexical: np.ndarray, semantic: np.ndarray, lexical_weight: float) -> np.ndarray:
    """`weighted` over arrays, for the search path (a dict per candidate costs more than the
    arithmetic): `lexical[i]` is candidate i's BM25 (0: none) and `semantic[i]` its cosine, for
    the first len(semantic) candidates; the others have no vector yet (scored as the lowest)."""
    top = lexical.max(initial=0.0) or 1.0
    lo, hi = (semantic.min(), semantic.max()) if len(semantic) else (0.0, 1.0)
    span = (hi - lo) or 1.0
    meaning = np.zeros(len(lexical))
    meaning[:len(semantic)] = (1 - lexical_weight) * (semantic - lo) / span
    return lexical_weight * lexical / top + meaning


def lexical_weight_for(content_words: int, short: float = 0.3, long: float = 0.1, *, short_max: int = 3,
                       acronym: bool = False, acronym_weight: float | None = None) -> float:
    """How much to trust keywords: short queries are names and terms, long ones descriptions,
    and a query naming an acronym ("RLHF", "MoE routing") wants exact matches most (an
    embedding model knows few acronyms: it places "RLHF" near any reinforcement learning)."""
    if acronym and acronym_weight is not None:
        return acronym_weight
    return short if content_words <= short_max else long


_ACRONYM = re.compile(r"(?<![\w-])(?=\w*[A-Z]\w*[A-Z])[A-Za-z][A-Za-z0-9]{1,9}(?![\w])")


def has_acronym(raw: str) -> bool:
    """Whether the query as typed has a word with two or more capitals ("RLHF", "MoE", "LoRA",
    "GPT-4"): what people type for a named method, unlike a sentence's one leading capital."""
    return bool(_ACRONYM.search(raw))
