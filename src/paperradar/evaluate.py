"""The evaluation harness: run judged queries through each search mode and score the rankings.

Queries file: JSON lines `{"qid", "query", "style", "relevant": {TITLE: grade}}`, relevance keyed
by exact title (matched through the same title normalization the store dedupes with).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from .errors import UserError
from .normalize import title_key
from .search import metrics

DEPTH = 50


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
        rows = []
        for q in queries:
            ranked = [h.paper.id for h in search.search(q.query, limit=DEPTH, mode=mode).hits]
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
