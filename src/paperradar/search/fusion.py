"""Fusing a lexical and a vector ranking into one, as small pure functions.

`lexical` maps id → BM25 score (only the lexical candidates have one); `semantic` maps id →
cosine similarity to the query (computed exactly for every candidate from either list).
"""

from __future__ import annotations


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
    top = max(lexical.values(), default=0.0) or 1.0
    lo, hi = min(semantic.values(), default=0.0), max(semantic.values(), default=1.0)
    span = (hi - lo) or 1.0
    ids = set(lexical) | set(semantic)
    return {d: lexical_weight * lexical.get(d, 0.0) / top
            + (1 - lexical_weight) * (semantic.get(d, lo) - lo) / span for d in ids}


def lexical_weight_for(content_words: int, short: float = 0.3, long: float = 0.1) -> float:
    """How much to trust keywords: short queries are names and terms, long ones descriptions."""
    return short if content_words <= 3 else long
