"""Ranking metrics, as small pure functions. `ranked` is a list of ids, best first;
`gains` maps relevant ids to graded relevance (2 = clearly relevant, 1 = partly)."""

from __future__ import annotations

import math


def dcg(gains_in_order: list[float]) -> float:
    """DCG = Σ_i (2^g_i − 1) / log2(i + 1), i from 1 (the exponential-gain form)."""
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains_in_order))


def ndcg_at(ranked: list[str], gains: dict[str, float], k: int = 10) -> float:
    """nDCG@k = DCG@k of the ranking / DCG@k of the ideal ranking (0 when nothing is relevant)."""
    ideal = dcg(sorted(gains.values(), reverse=True)[:k])
    return dcg([gains.get(d, 0) for d in ranked[:k]]) / ideal if ideal else 0.0


def mrr_at(ranked: list[str], gains: dict[str, float], k: int = 10) -> float:
    """Reciprocal rank of the first relevant result within the top k, else 0."""
    for i, d in enumerate(ranked[:k], 1):
        if gains.get(d, 0) > 0:
            return 1.0 / i
    return 0.0


def recall_at(ranked: list[str], gains: dict[str, float], k: int = 50) -> float:
    """Share of the relevant ids found in the top k."""
    relevant = {d for d, g in gains.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0
