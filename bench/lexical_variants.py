"""Which keyword ranking holds on every dev set: BM25 layouts compared with paired bootstraps.

    python bench/eval_all.py --modes lexical --sets seeds,daily,cranfield   # fills the cache first
    python bench/lexical_variants.py [--cache /tmp/paperradar-eval-cache]

Reads each set's corpus from the data dirs `paperradar eval --cache-dir` keeps, builds one
in-memory tantivy index with every field a variant may use (title, abstract, authors, title +
abstract as one field, title word pairs, title + abstract word pairs) and scores each variant's
ranking with nDCG@10 on every set, with a paired bootstrap 95% interval against plain BM25
(one field, title + abstract, every query word). Only the keyword side: no embeddings needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from statistics import mean

import numpy as np
import tantivy

from paperradar.config import Settings
from paperradar.evalsets import beir_queries
from paperradar.evaluate import load_queries, paired_bootstrap
from paperradar.search import analyze, metrics
from paperradar.search.lexical import title_pairs
from paperradar.search.query import parse
from paperradar.store import Store

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
SETS = {"seeds": ("000_", EVAL / "dev_queries.jsonl"), "daily": ("hf_daily_papers-", EVAL / "dev_queries_10k.jsonl"),
        "cranfield": ("cranfield-", EVAL / "cranfield")}
FIELDS = ("title", "abstract", "authors", "text", "title_pairs", "text_pairs")


def build(store: Store) -> tantivy.Index:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw")
    for f in FIELDS:
        b.add_text_field(f, tokenizer_name="whitespace")
    index = tantivy.Index(b.build())
    w = index.writer(heap_size=200_000_000, num_threads=1)
    for _, p in store.papers_changed_since(0):
        if p.withdrawn:
            continue
        title, abstract = analyze.tokens(p.title), analyze.tokens(p.abstract)
        d = tantivy.Document()
        d.add_text("id", p.id)
        d.add_text("title", " ".join(title))
        d.add_text("abstract", " ".join(abstract))
        d.add_text("authors", analyze.index_text(" ; ".join(p.authors)))
        d.add_text("text", " ".join(title + abstract))
        d.add_text("title_pairs", " ".join(title_pairs(title)))
        d.add_text("text_pairs", " ".join(title_pairs(title) + title_pairs(abstract)))
        w.add_document(d)
    w.commit()
    w.wait_merging_threads()
    index.reload()
    return index


def variant(fields: dict[str, float], pairs: dict[str, float] | None = None, stop: bool = True):
    """A ranking: OR over `fields` (weights) of each word's stem, plus adjacent query-word pairs
    looked up in the pair fields, for queries of 2-4 content words (as lexical.py does)."""
    def query(schema, raw: str):
        q = parse(raw)
        words = q.terms + [w for p in q.phrases for w in p]
        if stop:
            words = [w for w in words if w not in analyze.STOPWORDS] or words
        stems = analyze.stems(words)
        clauses = [(tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, t), w))
                   for t in dict.fromkeys(stems) for f, w in fields.items()]
        if pairs and 1 < len(words) <= 4:
            clauses += [(tantivy.Occur.Should, tantivy.Query.boost_query(
                tantivy.Query.term_query(schema, f, f"{a}_{b}"), w)) for a, b in zip(stems, stems[1:])
                for f, w in pairs.items()]
        return tantivy.Query.boolean_query(clauses) if clauses else None
    return query


VARIANTS = {
    "bm25 (plain)": variant({"text": 1}, stop=False),
    "bm25, stopwords dropped": variant({"text": 1}),
    "before: title 1.5 + abstract + authors + title pairs 1.5": variant(
        {"title": 1.5, "abstract": 1, "authors": 1}, {"title_pairs": 1.5}),
    "title + abstract + authors (fields, weight 1)": variant({"title": 1, "abstract": 1, "authors": 1}),
    "title 1.5 + abstract + authors, no pairs": variant({"title": 1.5, "abstract": 1, "authors": 1}),
    "text + authors": variant({"text": 1, "authors": 1}),
    "text + authors + title 0.3": variant({"text": 1, "authors": 1, "title": 0.3}),
    "text + authors + title 0.6": variant({"text": 1, "authors": 1, "title": 0.6}),
    "text + authors + title pairs 0.5": variant({"text": 1, "authors": 1}, {"title_pairs": 0.5}),
    "text + authors + title pairs 1": variant({"text": 1, "authors": 1}, {"title_pairs": 1}),
    "text + authors + title 0.6 + title pairs 0.5": variant({"text": 1, "authors": 1, "title": 0.6}, {"title_pairs": 0.5}),
    "text + authors + title 0.3 + title pairs 0.5": variant({"text": 1, "authors": 1, "title": 0.3}, {"title_pairs": 0.5}),
    "text + authors + title 1": variant({"text": 1, "authors": 1, "title": 1}),
    "text + authors + title 0.6, stopwords kept": variant({"text": 1, "authors": 1, "title": 0.6}, stop=False),
    "text + authors + text pairs 0.5": variant({"text": 1, "authors": 1}, {"text_pairs": 0.5}),
    "text + authors + text pairs 1": variant({"text": 1, "authors": 1}, {"text_pairs": 1}),
}


def judged(name: str, folder: Path, store: Store, queries: Path):
    if name == "cranfield":
        return beir_queries(queries, json.loads((folder / "eval-loaded.json").read_text())["beir"])
    return load_queries(queries, store)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/paperradar-eval-cache"))
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--base", default="bm25 (plain)", help="the variant the others are compared with")
    a = ap.parse_args()
    names = a.sets.split(",")
    results: dict[str, dict[str, list[float]]] = {}
    for name in names:
        prefix, queries = SETS[name]
        folders = sorted(f for f in a.cache.glob(prefix + "*") if (f / "eval-loaded.json").is_file())
        if not folders:
            sys.exit(f"{name}: no loaded corpus under {a.cache}: run bench/eval_all.py --cache {a.cache} first")
        store = Store(Settings(data_dir=folders[0]).db_url, migrate_schema=False)
        index = build(store)
        qs = judged(name, folders[0], store, queries)
        searcher = index.searcher()
        results[name] = {}
        for label, make in VARIANTS.items():
            scores = []
            for q in qs:
                tq = make(index.schema, q.query)
                ranked = [searcher.doc(addr)["id"][0] for _, addr in searcher.search(tq, limit=10).hits] if tq else []
                scores.append(metrics.ndcg_at(ranked, q.gains, 10))
            results[name][label] = scores
        store.close()
    print(f"nDCG@10; Δ = variant − {a.base} with its paired bootstrap 95% interval ({', '.join(names)})")
    for label in VARIANTS:
        cells = []
        for name in names:
            s, base = results[name][label], results[name][a.base]
            d, lo, hi = paired_bootstrap(s, base)
            cells.append(f"{name} {mean(s):.3f} Δ{d:+.3f} [{lo:+.3f},{hi:+.3f}]")
        if len(names) > 1:
            d, lo, hi = macro_bootstrap([np.subtract(results[n][label], results[n][a.base]) for n in names])
            cells.append(f"mean of sets Δ{d:+.3f} [{lo:+.3f},{hi:+.3f}]")
        print(f"  {label:<58} " + "  ".join(cells))


def macro_bootstrap(diffs: list, resamples: int = 10_000, seed: int = 15) -> tuple[float, float, float]:
    """The mean over sets of each set's mean difference, with a 95% interval from resampling
    the queries within each set (every set weighs the same, whatever its number of queries)."""
    rng = np.random.default_rng(seed)
    means = np.zeros(resamples)
    for d in diffs:
        means += d[rng.integers(0, len(d), (resamples, len(d)))].mean(axis=1) / len(diffs)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(np.mean([d.mean() for d in diffs])), float(lo), float(hi)


if __name__ == "__main__":
    main()
