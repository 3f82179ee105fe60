"""The evaluation harness: run judged queries through each search mode and score the rankings,
and compare two runs query by query with a paired bootstrap.

Queries file: JSON lines `{"qid", "query", "style", "relevant": {TITLE: grade}}`, relevance keyed
by exact title (matched through the same title normalization the store dedupes with). Besides
the search modes, `bm25` ranks by plain BM25 over title + abstract (search/plain_bm25.py), the
yardstick every report shows beside ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

import numpy as np

from .errors import UserError
from .normalize import title_key
from .search import metrics
from .search.plain_bm25 import NAME as PLAIN_BM25, PlainBM25

DEPTH = 50
RESAMPLES = 10_000
SEED = 15  # fixed: the same two runs always give the same interval


@dataclass
class Judged:
    qid: str
    query: str
    style: str
    gains: dict[str, float]  # paper id -> grade
    missing: list[str] = field(default_factory=list)  # judged titles not in the store


def load_queries(path: Path, store) -> list[Judged]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror or e}") from None
    titles = {title_key(p.title): p.id for p in store.all_titles()}
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            query, relevant = d["query"], d["relevant"]
            gains, missing = {}, []
            for title, grade in relevant.items():
                pid = titles.get(title_key(title))
                if pid:
                    gains[pid] = float(grade)
                else:
                    missing.append(title)
            out.append(Judged(str(d.get("qid", n)), query, d.get("style", "all"), gains, missing))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise UserError(f"{path}:{n}: not a judged query ({type(e).__name__}: {e})") from None
    if not out:
        raise UserError(f"{path}: no queries")
    return out


def evaluate(search, queries: list[Judged], modes: list[str]) -> dict:
    """Per mode: overall and per-style means of nDCG@10, MRR@10, recall@50, and per query."""
    report: dict = {"queries": len(queries), "modes": {}}
    for mode in modes:
        if mode == PLAIN_BM25:
            plain = PlainBM25.from_store(search.store)
            rank = lambda text: plain.search(text, DEPTH)  # noqa: E731
        else:
            rank = lambda text: [h.paper.id for h in search.search(text, limit=DEPTH, mode=mode).hits]  # noqa: E731
        rows = []
        for q in queries:
            ranked = rank(q.query)
            rows.append({"qid": q.qid, "style": q.style, "query": q.query,
                         "ndcg@10": metrics.ndcg_at(ranked, q.gains, 10),
                         "mrr@10": metrics.mrr_at(ranked, q.gains, 10),
                         "recall@50": metrics.recall_at(ranked, q.gains, 50)})
        styles = sorted({r["style"] for r in rows})
        report["modes"][mode] = {
            "overall": _means(rows),
            "by_style": {s: _means([r for r in rows if r["style"] == s]) for s in styles},
            "per_query": rows,
        }
    return report


def _means(rows: list[dict]) -> dict:
    return {k: round(mean(r[k] for r in rows), 4) for k in ("ndcg@10", "mrr@10", "recall@50")} | {"n": len(rows)}


def paired_bootstrap(a: list[float], b: list[float], resamples: int = RESAMPLES,
                     seed: int = SEED) -> tuple[float, float, float]:
    """(mean of a − b, 2.5th and 97.5th percentiles of that mean) over `resamples` resamplings
    of the queries with replacement; a[i] and b[i] are the same query's scores in two runs.

    The pairing matters: queries differ far more from each other than two rankers do on one
    query, so an unpaired interval would call most real differences noise."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 1000):  # bounded memory for large query sets
        n = min(1000, resamples - start)
        means[start:start + n] = d[rng.integers(0, len(d), (n, len(d)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(d.mean()), float(lo), float(hi)


def compare(new: dict, old: dict, new_mode: str, old_mode: str, metric: str = "ndcg@10") -> list[dict]:
    """Rows {style, n, old, new, diff, lo, hi} (overall first, then per style) comparing
    `new_mode` of report `new` with `old_mode` of report `old`, over the queries both judged."""
    try:
        a = {r["qid"]: r for r in new["modes"][new_mode]["per_query"]}
        b = {r["qid"]: r for r in old["modes"][old_mode]["per_query"]}
    except (KeyError, TypeError):
        raise UserError(f"no per-query rows for mode {new_mode!r} / {old_mode!r} in the reports compared") from None
    common = [q for q in a if q in b]
    if not common:
        raise UserError("the reports compared share no query ids: were they run on the same set?")
    out = []
    for style in ["all"] + sorted({a[q]["style"] for q in common}):
        qs = [q for q in common if style == "all" or a[q]["style"] == style]
        x, y = [a[q][metric] for q in qs], [b[q][metric] for q in qs]
        diff, lo, hi = paired_bootstrap(x, y)
        out.append({"style": style, "n": len(qs), "old": round(mean(y), 4), "new": round(mean(x), 4),
                    "diff": round(diff, 4), "lo": round(lo, 4), "hi": round(hi, 4)})
    return out
