"""More than one vector per paper, replayed on all three dev sets: does a paper's best-matching
part find what its one title + abstract vector misses (descriptive queries above all)?

    python bench/eval_all.py                  # fills the cache (each corpus loaded and embedded)
    python bench/chunk_vectors.py --variant chunks --weights 0.3,0.5
    python bench/chunk_vectors.py --variant title --weights 0.2,0.3
    python bench/chunk_vectors.py --variant cut --pieces 128 --weights 1   # a shorter input
    PAPERRADAR_EMBED_MODEL=all-mpnet-base-v2+all-MiniLM-L6-v2 PAPERRADAR_EMBED_INT8=1 \
        python bench/chunk_vectors.py --variant cut --cut-model all-mpnet-base-v2 --weights 1

Besides each paper's stored vector, the extra texts are embedded with the model that embedded
the papers (kept beside the cache as .npy): `chunks`, the title followed by each window of three
sentences of the abstract; `title`, the title alone; `cut`, the paper's own text (title + abstract) cut at
`--pieces` word pieces, the vector that replaces the paper's at w = 1 (feedback included): what
a shorter model input costs. A paper's score by meaning becomes (1 − w) × its vector's
cosine + w × the best cosine among its extra texts, in both the retrieval by meaning (exact,
over the whole corpus) and the fusion of `SearchService._ranked` with its feedback step (the
feedback centroid stays the papers' own vectors). w = 0 reproduces the code's figures. Prints
nDCG@10 per set and style with a paired bootstrap interval against w = 0.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

from paperradar.embed.embedder import paper_text
from paperradar.evaluate import paired_bootstrap
from paperradar.search import fusion, metrics, service

sys.path.insert(0, str(Path(__file__).parent))
from fusion_grid import SETS, fuse, open_set, retrieve  # noqa: E402

WINDOW = 3  # sentences per chunk


def extra_texts(rows: list[tuple], variant: str) -> tuple[list[str], np.ndarray]:
    """The extra texts of every paper and, for each, the row of the paper it belongs to."""
    texts, owner = [], []
    for i, (_, title, abstract, _) in enumerate(rows):
        if variant == "title":
            parts = [title]
        elif variant == "cut":
            parts = [paper_text(title, abstract)]
        else:
            sents = [s for s in re.split(r"(?<=[.!?])\s+", abstract.strip()) if s] or [""]
            parts = [f"{title.rstrip('.')}. {' '.join(sents[j:j + WINDOW])}" for j in range(0, len(sents), WINDOW)]
        texts += parts
        owner += [i] * len(parts)
    return texts, np.array(owner)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/paperradar-eval-cache"))
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--variant", choices=("chunks", "title", "cut"), default="chunks")
    ap.add_argument("--pieces", type=int, default=128, help="where `cut` cuts the text (word pieces)")
    ap.add_argument("--cut-model", help="with two models, cut only this one's input (default: both)")
    ap.add_argument("--weights", default="0.3,0.5", help="values of w to try, comma-separated")
    a = ap.parse_args()
    weights = [float(w) for w in a.weights.split(",")]
    lex_short, lex_long, prf_docs, prf_weight, k = (service.LEXICAL_SHORT, service.LEXICAL_LONG, service.PRF_DOCS,
                                                    service.PRF_WEIGHT, service.CANDIDATES)
    for name in a.sets.split(","):
        r, judged = open_set(a.cache, name)
        folder, model = r.settings.data_dir, r.settings.embedding_name
        with sqlite3.connect(folder / "paperradar.db") as db:
            rows = db.execute("SELECT p.id, p.title, p.abstract, e.vector FROM papers p JOIN embeddings e "
                              "ON e.paper_id = p.id WHERE e.model = ?", (model,)).fetchall()
        ids = [row[0] for row in rows]
        pos = {d: i for i, d in enumerate(ids)}
        docs = np.stack([np.frombuffer(row[3], dtype=np.float32) for row in rows])
        texts, owner = extra_texts(rows, a.variant)
        cut = f"{a.pieces}{a.cut_model or ''}" if a.variant == "cut" else ""
        kept = folder / f"extra-{a.variant}{cut}.npy"
        if kept.is_file() and len(np.load(kept, mmap_mode="r")) == len(texts):
            extra = np.load(kept)
        else:
            t = time.perf_counter()
            embedder = r.embedder()  # the papers' model (fp32 or int8 as they were embedded), not the queries'
            if a.variant == "cut":  # this process's copy only; in a pair, the parts --cut-model names
                for part in getattr(embedder, "parts", [embedder]):
                    if part.name.startswith(a.cut_model or part.name):
                        part._tokenizer.enable_truncation(max_length=a.pieces)
            extra = embedder.encode(texts)
            np.save(kept, extra)
            print(f"{name}: embedded {len(texts):,} extra texts in {time.perf_counter() - t:.0f} s")

        def by_meaning(qv: np.ndarray, w: float) -> np.ndarray:
            best = np.full(len(ids), -2.0, np.float32)
            np.maximum.at(best, owner, extra @ qv)
            return (1 - w) * (docs @ qv) + w * best

        def fuse_with(c: dict, w: float) -> list[str]:
            scores = by_meaning(c["qvec"], w)
            lex = dict(c["lex"][:k])
            cand = list(dict.fromkeys([*lex, *(ids[i] for i in np.argsort(-scores)[:k])]))
            weight = fusion.lexical_weight_for(c["content"], lex_short, lex_long, short_max=service.SHORT_MAX,
                                               acronym=c["acronym"], acronym_weight=service.LEXICAL_ACRONYM)
            fused = fusion.weighted(lex, {d: float(scores[pos[d]]) for d in cand}, weight)
            top = [d for d, _ in sorted(fused.items(), key=lambda kv: -kv[1])[:prf_docs]]
            if top:
                # the papers' vectors, or at w = 1 the cut ones that replace them (one per paper, in row order)
                centroid = extra if a.variant == "cut" and w == 1 else docs
                q2 = c["qvec"] + prf_weight * np.mean([centroid[pos[d]] for d in top], axis=0)
                scores = by_meaning(q2 / (np.linalg.norm(q2) or 1.0), w)
                fused = fusion.weighted(lex, {d: float(scores[pos[d]]) for d in cand}, weight)
            return [d for d, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]

        got = [(q, retrieve(r, q.query, k)) for q in judged]
        r.close()
        code = np.array([metrics.ndcg_at(fuse(c, lex_short, lex_long, prf_docs, prf_weight, k,
                                              service.LEXICAL_ACRONYM, service.SHORT_MAX), q.gains, 10)
                         if c else 0.0 for q, c in got])
        styles = sorted({getattr(q, "style", "") or "all" for q, _ in got})
        print(f"{name} ({model}, {a.variant}): the code's hybrid {code.mean():.3f}")
        for w in [0.0, *weights]:
            s = np.array([metrics.ndcg_at(fuse_with(c, w), q.gains, 10) if c else 0.0 for q, c in got])
            d, lo, hi = paired_bootstrap(s, code)
            per = "  ".join(f"{st} {s[m].mean():.3f} ({code[m].mean():.3f})" for st in styles
                            if (m := np.array([(getattr(q, 'style', '') or 'all') == st for q, _ in got])).any())
            print(f"  w={w:<4} {s.mean():.3f}  Δ {d:+.3f} [{lo:+.3f}, {hi:+.3f}]   {per}")


if __name__ == "__main__":
    main()
