"""Search at scale: build a synthetic corpus of N papers, then time queries in-process and over HTTP.

    python bench/search.py                  # N = 20,000 (a few minutes)
    python bench/search.py --papers 1000000 # the issue's size (builds once into bench/out/, ~30+ min)

Text: titles and abstracts recombined from the demo corpus's real sentences (a real title with
words from another, 4-9 real abstract sentences), random authors, categories and dates, so BM25
sees realistic term statistics. Vectors: synthetic, not embedded (embedding 1M abstracts takes
hours on 2 cores): 4,000 topics, each a centre on the unit sphere plus its own 16-dimensional
subspace; a paper is centre + a random point of its topic's subspace + a little isotropic noise,
normalized. That gives cosines of ~0.5-0.6 within a topic and ~0 across, as MiniLM shows on real
abstracts, and the low intrinsic dimension real embeddings have (pure isotropic noise in 384
dimensions would be an unrealistically hard case for any ANN index). Queries are real (the dev queries and title fragments) and are
embedded by the real model inside the timed call. The store, the indexes and the search service
are the real ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import demo_text, percentile, row, rss_mib  # noqa: E402

from paperradar.config import Settings  # noqa: E402
from paperradar.models import Paper  # noqa: E402

TARGET_P95_MS, TARGET_HTTP_P95_MS, TARGET_RSS_MIB = 15, 30, 2048
DIM, TOPICS, SUBSPACE = 384, 4000, 16
CATS = ["cs.LG", "cs.CV", "cs.CL", "stat.ML", "cs.AI", "cs.RO", "eess.IV", "math.OC", "physics.comp-ph", "q-bio.QM"]
QUERIES = [json.loads(line)["query"] for line in (Path(__file__).parents[1].parent / "shared/eval/dev_queries.jsonl").read_text().splitlines()] \
    if (Path(__file__).parents[1].parent / "shared/eval/dev_queries.jsonl").exists() else []
QUERIES += ["gradient inversion", "normalizing flows", "diffusion models for segmentation", "muP",
            "reinforcement learning from human feedback", "graph neural networks for molecules",
            "federated learning privacy attacks", "vision transformer", "contrastive learning",
            "author:smith cat:cs.LG transformers", "\"knowledge distillation\" from:2020"]


def papers(n: int, seed: int = 0):
    titles, sentences = demo_text()
    rng = random.Random(seed)
    names = [f"{rng.choice('ABCDEFGHJKLMNPRSTW')}. {rng.choice(['Smith', 'Chen', 'Garcia', 'Kumar', 'Müller', 'Tanaka', 'Okafor', 'Rossi', 'Novak', 'Silva'])}{i % 500}" for i in range(5000)]
    for i in range(n):
        base, other = rng.choice(titles).split(), rng.choice(titles).split()
        cut = rng.randrange(1, max(2, len(base)))
        # a made-up rare word keeps titles distinct (the store merges equal titles) and gives the
        # vocabulary the long tail of names and acronyms real titles have
        title = " ".join(base[:cut] + other[rng.randrange(len(other)):][:4] + [_rare_word(i)])
        abstract = " ".join(rng.sample(sentences, rng.randint(4, 9)))
        day = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3900))
        yield Paper(id=f"{2000 + i // 100000:04d}.{i % 100000:05d}", arxiv_id=f"{2000 + i // 100000:04d}.{i % 100000:05d}",
                    version=1, title=title, abstract=abstract, authors=rng.sample(names, rng.randint(1, 6)),
                    categories=rng.sample(CATS, rng.randint(1, 3)), published=day)


def _rare_word(i: int) -> str:
    letters = "bcdfghjklmnpqrstvwxz"
    word = ""
    while True:
        i, r = divmod(i, len(letters))
        word += letters[r] + "aeiou"[r % 5]
        if not i:
            return word.capitalize()


def synthetic_vectors(rows: int, rng: np.random.Generator, topics_model) -> np.ndarray:
    centres, bases = topics_model
    topics = rng.integers(0, len(centres), rows)
    z = rng.standard_normal((rows, SUBSPACE)).astype(np.float32) * (0.9 / np.sqrt(SUBSPACE))
    spread = np.einsum("rk,rkd->rd", z, bases[topics])
    noise = rng.standard_normal((rows, DIM)).astype(np.float32) * (0.25 / np.sqrt(DIM))
    v = centres[topics] + spread + noise
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def topic_model(rng: np.random.Generator):
    centres = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = rng.standard_normal((TOPICS, SUBSPACE, DIM)).astype(np.float32)
    bases /= np.linalg.norm(bases, axis=2, keepdims=True)
    return centres, bases


def build(data_dir: Path, n: int, reuse_store: bool = False) -> dict:
    from paperradar.ingest import ingest
    from paperradar.radar import Radar

    r = Radar(Settings(data_dir=data_dir), rebuild_vectors=True)
    t0 = time.perf_counter()
    if not reuse_store:
        ingest(r.store, papers(n))
    t_store = time.perf_counter() - t0
    t0 = time.perf_counter()
    r.lexical.reset()
    r.indexer.sync_lexical()
    t_lexical = time.perf_counter() - t0
    r.close()
    return {"papers": n, "store_s": t_store, "lexical_s": t_lexical, "vectors_s": build_vectors(data_dir)}


def build_vectors(data_dir: Path) -> float:
    """Synthetic vectors for every stored paper through the real VectorIndex; returns seconds."""
    from paperradar.radar import Radar

    r = Radar(Settings(data_dir=data_dir), rebuild_vectors=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(1)
    model = topic_model(rng)
    batch: list = []
    for seq, p in r.store.papers_changed_since(0):
        batch.append((seq, p.id))
        if len(batch) == 50_000:
            r.vectors.apply(list(zip([b[1] for b in batch], synthetic_vectors(len(batch), rng, model))), [], batch[-1][0])
            batch = []
    if batch:
        r.vectors.apply(list(zip([b[1] for b in batch], synthetic_vectors(len(batch), rng, model))), [], batch[-1][0])
    r.vectors.flush()
    seconds = time.perf_counter() - t0
    r.close()
    return seconds


def measure_in_process(data_dir: Path, rounds: int, repeat: int) -> dict:
    """Runs in a fresh process so RSS is the search process's own. Each of `repeat` runs times
    `rounds` queries per mode (modes interleaved run by run); per mode, the median over the runs
    of each run's p50 and p95, and the spread of the p95s."""
    import statistics

    from paperradar.radar import Radar

    r = Radar(Settings(data_dir=data_dir))
    for q in QUERIES * 2:  # warm: model loaded, pages cached
        r.search.search(q, limit=20)
    runs: dict[str, list[tuple[float, float]]] = {"hybrid": [], "lexical": [], "vector": []}
    for _ in range(repeat):
        for mode in runs:
            times = []
            for i in range(rounds):
                q = QUERIES[i % len(QUERIES)]
                t0 = time.perf_counter()
                r.search.search(q, limit=20, mode=mode)
                times.append((time.perf_counter() - t0) * 1000)
            runs[mode].append((percentile(times, 50), percentile(times, 95)))
    out = {mode: (statistics.median(p for p, _ in rs), statistics.median(p for _, p in rs),
                  min(p for _, p in rs), max(p for _, p in rs)) for mode, rs in runs.items()}
    out["rss_mib"], out["peak_rss_mib"] = rss_mib()
    out["vectors"], out["ann"] = len(r.vectors), r.vectors.ann is not None
    return out


def recall_at_10(data_dir: Path, samples: int = 100) -> float | None:
    """ANN top 10 against exact top 10, for queries near the data (noisy copies of stored vectors)."""
    from paperradar.radar import Radar

    r = Radar(Settings(data_dir=data_dir))
    v = r.vectors
    if v.ann is None:
        return None
    rng = np.random.default_rng(7)
    hits = 0
    for row_i in rng.choice(len(v.ids), samples, replace=False):
        q = v.vectors[row_i] + rng.standard_normal(DIM).astype(np.float32) * (0.5 / np.sqrt(DIM))
        q /= np.linalg.norm(q)
        ann = {h.id for h in v.search(q, 10)}
        scores = np.concatenate([v.vectors[i:i + 100_000] @ q for i in range(0, len(v.ids), 100_000)])
        exact = {v.ids[i] for i in np.argsort(-scores)[:10]}
        hits += len(ann & exact)
    return hits / (samples * 10)


def measure_http(data_dir: Path, rounds: int) -> dict:
    port = 8000 + random.randrange(1000, 9000)
    # The API's per-client rate limit (kept in the store) would refuse a second run within 5 minutes.
    env = {**os.environ, "PAPERRADAR_DATA_DIR": str(data_dir), "PAPERRADAR_API_RATE_LIMIT": "0"}
    server = subprocess.Popen([sys.executable, "-m", "paperradar", "serve", "--no-demo", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/api/papers/search"
        with httpx.Client(timeout=30) as client:
            for _ in range(600):
                try:
                    client.get(url, params={"q": "warm up"})
                    break
                except httpx.TransportError:
                    time.sleep(0.5)
            for q in QUERIES * 2:
                client.get(url, params={"q": q, "limit": 20})
            times = []
            for i in range(rounds):
                t0 = time.perf_counter()
                resp = client.get(url, params={"q": QUERIES[i % len(QUERIES)], "limit": 20})
                times.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, resp.text
        rss, peak = rss_mib(server.pid)
        return {"p50": percentile(times, 50), "p95": percentile(times, 95), "rss_mib": rss, "peak_rss_mib": peak}
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--papers", type=int, default=20_000, help="corpus size (default 20,000; the issue's is 1,000,000)")
    ap.add_argument("--rounds", type=int, default=300, help="timed queries per mode and run")
    ap.add_argument("--repeat", type=int, default=3, help="in-process runs; medians are reported (the machine is noisy)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="where built corpora are kept")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the corpus even if one of this size exists")
    ap.add_argument("--reindex", action="store_true", help="keep the stored papers, rebuild both indexes")
    ap.add_argument("--reindex-vectors", action="store_true", help="keep papers and keyword index, rebuild the vectors")
    ap.add_argument("--_measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._measure:  # the child process: measure and print JSON
        print(json.dumps(measure_in_process(args._measure, args.rounds, args.repeat)))
        return
    data_dir = args.out / f"search-{args.papers}"
    built = data_dir / "built.json"
    if args.reindex_vectors and built.exists():
        print(f"rebuilding the vector index of {data_dir} …", flush=True)
        old = json.loads(built.read_text())
        built.write_text(json.dumps({**old, "vectors_s": build_vectors(data_dir)}))
    elif args.reindex and built.exists():
        print(f"rebuilding the indexes of {data_dir} …", flush=True)
        old = json.loads(built.read_text())
        built.write_text(json.dumps({**build(data_dir, args.papers, reuse_store=True), "store_s": old["store_s"]}))
    elif args.rebuild or not built.exists():
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"building {args.papers:,} papers into {data_dir} …", flush=True)
        built.parent.mkdir(parents=True, exist_ok=True)
        built.write_text(json.dumps(build(data_dir, args.papers)))
    b = json.loads(built.read_text())
    child = subprocess.run([sys.executable, __file__, "--_measure", str(data_dir), "--rounds", str(args.rounds),
                            "--repeat", str(args.repeat)],
                           capture_output=True, text=True, check=True)
    m = json.loads(child.stdout.strip().splitlines()[-1])
    http = measure_http(data_dir, args.rounds)
    recall = recall_at_10(data_dir)
    print(f"search benchmark: {b['papers']:,} papers ({'ANN ' if m['ann'] else 'exact '}vectors), {args.rounds} queries "
          f"per mode and run; in-process figures are medians of {args.repeat} runs")
    print(row("build: store upsert", b["store_s"], "s"))
    print(row("build: lexical index", b["lexical_s"], "s"))
    print(row("build: vector index", b["vectors_s"], "s"))
    for mode in ("hybrid", "lexical", "vector"):
        p50, p95, lo, hi = m[mode]
        label = "" if mode == "lexical" else " (incl. query embedding)"
        print(row(f"in-process {mode} p50{label}", p50, "ms"))
        print(row(f"in-process {mode} p95 (runs {lo:.1f}-{hi:.1f})", p95, "ms", TARGET_P95_MS if mode == "hybrid" else None))
    print(row("HTTP hybrid p50", http["p50"], "ms"))
    print(row("HTTP hybrid p95", http["p95"], "ms", TARGET_HTTP_P95_MS))
    print(row("search process RSS (in-process run)", m["rss_mib"], "MiB", TARGET_RSS_MIB))
    print(row("search process peak RSS (in-process run)", m["peak_rss_mib"], "MiB", TARGET_RSS_MIB))
    print(row("web server RSS after the HTTP run", http["rss_mib"], "MiB", TARGET_RSS_MIB))
    if recall is not None:
        print(row("ANN recall@10 against exact", recall, "", 0.95, lower_is_better=False))


if __name__ == "__main__":
    main()
