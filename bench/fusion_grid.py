"""Hybrid fusion's parameters on all three dev sets at once: a grid, with paired bootstraps.

    python bench/eval_all.py                 # fills the cache (embeds each corpus once per model)
    python bench/fusion_grid.py [--cache /tmp/paperradar-eval-cache]

For every judged query of every set this retrieves once what the hybrid search uses (the
keyword candidates with their BM25, the candidates by meaning, every candidate's vector and the
query's vector, at the deepest candidate depth of the grid), then replays the fusion of
`SearchService._ranked` for each setting of: the keyword weight for short and long queries
(`fusion.lexical_weight_for`), feedback documents and weight (PRF_DOCS, PRF_WEIGHT), and the
candidate depth (CANDIDATES; a shallower list is a prefix of the deeper one). The first row is
the settings in the code; its figures must equal `paperradar eval`'s hybrid ones. Prints each
setting's nDCG@10 per set and the mean of the sets with a paired bootstrap interval against the
code's settings. Measures only: choosing from it is a decision for all sets and both models.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

import numpy as np

from paperradar.config import Settings
from paperradar.evalsets import beir_queries
from paperradar.evaluate import load_queries, paired_bootstrap
from paperradar.radar import Radar
from paperradar.search import analyze, fusion, metrics, service
from paperradar.search.query import parse

sys.path.insert(0, str(Path(__file__).parent))
from lexical_variants import SETS, macro_bootstrap  # noqa: E402

GRID = {"short": (0.3, 0.4, 0.5), "long": (0.05, 0.1, 0.2), "prf_docs": (0, 3, 5), "prf_weight": (1.0, 2.0),
        "k": (100, 200), "acronym": (None, 0.5), "short_max": (3, 4, 5)}


def open_set(cache: Path, name: str) -> tuple[Radar, list]:
    """Dev set `name`'s corpus as `bench/eval_all.py` loaded it under `cache` for the settings'
    model, its indexes caught up, and its judged queries."""
    model = Settings().embedding_name
    prefix, queries = SETS[name]
    folders = sorted(f for f in cache.glob(f"{prefix}*") if (f / "eval-loaded.json").is_file()
                     and f"-{model}-" in f.name)
    if not folders:
        sys.exit(f"{name}: no loaded corpus for {model} under {cache}: run bench/eval_all.py first")
    r = Radar(Settings(data_dir=folders[0], models_dir=Settings().model_cache))
    r.sync_indexes()  # an index left behind (or rebuilt by a newer version) catches up from the store
    if r.vectors is None or not len(r.vectors):
        sys.exit(f"{name}: no vectors in {folders[0]} ({r.vector_problem or 'empty index'})")
    judged = (beir_queries(queries, json.loads((folders[0] / "eval-loaded.json").read_text())["beir"])
              if name == "cranfield" else load_queries(queries, r.store))
    return r, judged


def retrieve(r: Radar, text: str, k: int) -> dict | None:
    """What `_ranked` computes before fusing, for the deepest k (no filters in judged queries)."""
    s = r.search
    q = parse(text)
    if (sug := s.search(text, limit=1, mode="lexical").suggestion) is not None:
        q = parse(sug.query)  # as the service does
    if not q.has_text:
        return None
    qvec = s._embedder().encode_query(q.text)
    by_meaning = s._vector_hits(q, qvec, k) if not q.phrases else []
    lexical_hits, _ = s.lexical.search(q, limit=k)
    content = [w for w in q.terms if w not in analyze.STOPWORDS] + [w for p in q.phrases for w in p]
    ids = list(dict.fromkeys([h.id for h in lexical_hits] + [h.id for h in by_meaning]))
    vectors = s.vectors.vectors_of(ids)
    return {"lex": [(h.id, h.score) for h in lexical_hits], "sem": [h.id for h in by_meaning], "qvec": qvec,
            "vectors": vectors, "content": len(content), "acronym": fusion.has_acronym(q.raw)}


def fuse(c: dict, short: float, long: float, prf_docs: int, prf_weight: float, k: int,
         acronym: float | None = None, short_max: int = 3) -> list[str]:
    lex = dict(c["lex"][:k])
    ids = [d for d in dict.fromkeys(list(lex) + c["sem"][:k]) if d in c["vectors"]]
    matrix = np.stack([c["vectors"][d] for d in ids]) if ids else np.zeros((0, len(c["qvec"])), np.float32)
    weight = fusion.lexical_weight_for(c["content"], short, long, short_max=short_max, acronym=c["acronym"],
                                       acronym_weight=acronym)

    def run(qv):
        return fusion.weighted(lex, dict(zip(ids, (matrix @ qv).tolist())), weight)

    fused = run(c["qvec"])
    top = [d for d, _ in sorted(fused.items(), key=lambda kv: -kv[1])[:prf_docs] if d in c["vectors"]]
    if top:
        q2 = c["qvec"] + prf_weight * np.mean([c["vectors"][d] for d in top], axis=0)
        q2 /= np.linalg.norm(q2) or 1.0
        fused = run(q2)
    return [d for d, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/paperradar-eval-cache"))
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--base", help="compare with this setting instead of the code's, e.g. '0.3,0.1,3,1.0,100,,3'")
    ap.add_argument("--top", type=int, default=15, help="settings shown, best mean of sets first")
    a = ap.parse_args()
    names = a.sets.split(",")
    model = Settings().embedding_name
    deepest = max(GRID["k"])
    cached: dict[str, list] = {}
    for name in names:
        r, judged = open_set(a.cache, name)
        cached[name] = [(q, retrieve(r, q.query, deepest)) for q in judged]
        r.close()
    code = (service.LEXICAL_SHORT, service.LEXICAL_LONG, service.PRF_DOCS, service.PRF_WEIGHT, service.CANDIDATES,
            service.LEXICAL_ACRONYM, service.SHORT_MAX)
    if a.base:
        code = tuple(t(v) if v else None for t, v in zip((float, float, int, float, int, float, int), a.base.split(",")))
    settings = [code] + [s for s in itertools.product(*GRID.values()) if s != code and not (s[2] == 0 and s[3] != 1.0)]
    scores = {s: {n: np.array([metrics.ndcg_at(fuse(c, *s), q.gains, 10) if c else 0.0 for q, c in cached[n]])
                  for n in names} for s in settings}
    base = scores[code]
    rows = []
    for s in settings:
        d, lo, hi = macro_bootstrap([scores[s][n] - base[n] for n in names])
        rows.append((d, s, lo, hi))
    rows.sort(key=lambda r: -r[0])
    print(f"{model}; short/long keyword weight, feedback docs, feedback weight, candidates; nDCG@10 per set; "
          f"Δ mean of sets vs the code's {code} [95%]")
    for d, s, lo, hi in [next(r for r in rows if r[1] == code)] + rows[:a.top]:
        cells = "  ".join(f"{n} {scores[s][n].mean():.3f}" for n in names)
        per_set = "  ".join(f"{n} {paired_bootstrap(scores[s][n], base[n])[0]:+.3f}" for n in names)
        print(f"  {str(s):<32} {cells}   Δ {d:+.3f} [{lo:+.3f}, {hi:+.3f}]   ({per_set})")
    best = rows[0][1]
    print(f"per style, the code's {code} → the best {best}:")
    for n in names:
        for style in sorted({getattr(q, "style", "") or "all" for q, _ in cached[n]}):
            mask = np.array([(getattr(q, "style", "") or "all") == style for q, _ in cached[n]])
            print(f"  {n:<10} {style:<9} n={mask.sum():<4} {base[n][mask].mean():.3f} → {scores[best][n][mask].mean():.3f}")


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    main()
