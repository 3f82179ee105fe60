"""Scale-out over HTTP: `paperradar serve --workers N` under load, FTS5 beside it, and freshness.

    python bench/scaleout.py                       # demo corpus, SQLite, 2 workers (a few minutes)
    python bench/scaleout.py --papers 20000 --database-url postgresql+psycopg://...   # PostgreSQL
    python bench/scaleout.py --papers 1000000 --database-url ...   # the issue's size (hours to build)

For each page (hybrid search, keyword search as a page and as JSON, a paper's page, the home
page) and each concurrency (8 and 64 connections) it drives the server for `--seconds` with
distinct requests: search queries are pairs and triples of words from the corpus's titles and
abstracts, never repeated within a run (so no cache answers them); paper pages cycle through
the stored papers. Then, beside it in the same run, SQLite FTS5 BM25 (`... MATCH ? ORDER BY rank
LIMIT 20`) over the same papers, served by a minimal app with as many workers (bench/fts5_app.py),
gets the same keyword queries; the ratio is our JSON keyword search's req/s to FTS5's.

Freshness: a paper committed by this process (another process than the server's) is polled
for in every worker, by keyword (a word only it has) and by meaning (its title, vector mode);
the delay is from the commit's return to the slowest worker finding it.

Load generator: `wrk` (C, one thread, a few % of a core; `apt-get install wrk`) when it is on
PATH, else an asyncio httpx client in this one process (which takes much of a core itself, so
its figures understate the server on 2 cores); the output says which. With `--papers` the
corpus is synthetic (bench/search.py's: real sentences recombined) with synthetic vectors in
the real model's space (mixtures of the demo's shipped vectors) stored as embeddings, so no
model embeds a million abstracts; the queries and the freshness papers are embedded by the
real model in the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import median, percentile, row  # noqa: E402

from paperradar.config import Settings  # noqa: E402
from paperradar.models import Paper  # noqa: E402
from paperradar.search.analyze import STOPWORDS  # noqa: E402

TARGETS = {"hybrid": 300, "keyword": 550, "paper": 800, "home": 600}  # req/s at 8 connections, 2 cores
P99_GROWTH = 4.0  # p99 at 64 connections over p99 at 8
FTS_RATIO = 1.0
PG_HYBRID_P95_MS, FRESH_P95_S = 50, 2.0
OUT = Path(__file__).parent / "out"
ODD_TOPICS = ["beekeeping in alpine meadows", "volcanic ash cloud forecasting", "medieval tapestry restoration",
              "sourdough starter microbiology", "coral reef acoustic monitoring", "violin varnish chemistry",
              "glacier calving seismology", "tea leaf fermentation kinetics", "lighthouse lens manufacturing",
              "camel milk cheese production", "origami folding of solar sails", "bamboo scaffolding safety"]
PLACES = ["Lisbon", "the Andes", "Hokkaido", "Patagonia", "the Sahara", "Lapland", "Tasmania", "Kamchatka",
          "Zanzibar", "Iceland", "the Yukon", "Sardinia"]
LUA = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "seconds": %f, "errors": %d, "p50": %d, "p95": %d, "p99": %d}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--papers", type=int, default=0, help="synthetic corpus size (default: the demo corpus)")
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite in the data dir)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--seconds", type=float, default=10.0, help="per page and concurrency")
    ap.add_argument("--warm-up", type=float, default=2.0, metavar="SECONDS",
                    help="load before each measured run (PostgreSQL at a million papers: 30+, until the HNSW "
                         "index is in shared buffers)")
    ap.add_argument("--freshness-rounds", type=int, default=20)
    ap.add_argument("--pages", nargs="+", default=["hybrid", "keyword", "keyword-json", "paper", "home"])
    ap.add_argument("--no-fts", action="store_true", help="skip the FTS5 comparison")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="scaleout-"))
    if args.papers:  # built once and kept: a million papers take hours
        data_dir = OUT / f"scaleout-{args.papers}-{'pg' if args.database_url else 'sqlite'}"
        build_synthetic(data_dir, args.papers, args.database_url)
    else:
        data_dir = work / "data"
    print(f"corpus: {'demo' if not args.papers else f'{args.papers:,} synthetic'} papers, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}, serve --workers {args.workers}, "
          f"load: {'wrk (one thread)' if shutil.which('wrk') else 'asyncio httpx client in this process'}", flush=True)
    results, fresh, fts = {}, None, {}
    server = Serve(data_dir, args.database_url, args.workers)
    try:
        sample = corpus_sample(data_dir, args.database_url)
        queries = iter(make_queries(sample, seed=1))
        warm = int(args.warm_up * 200)  # warm-up requests, distinct from the measured ones
        need = int(args.seconds * 2500) + warm  # more than any page answers: none repeats
        for page in args.pages:
            for c in args.connections:
                paths = page_paths(page, sample, [next(queries) for _ in range(need)])
                load(server.url, paths[:warm], c, args.warm_up)  # models loaded, pages cached by the OS
                results[(page, c)] = load(server.url, paths[warm:], c, args.seconds)
                print(f"  {page:<13} {c:>3} connections: {fmt(results[(page, c)])}", flush=True)
        if args.freshness_rounds:
            fresh = freshness(server, data_dir, args.database_url, args.freshness_rounds)
    finally:
        server.stop()
    if not args.no_fts:
        fts_db = work / "fts.db"
        from fts5_app import build

        build(fts_db, ((p.id, p.title, p.abstract) for p in all_papers(data_dir, args.database_url)))
        app = FtsServe(fts_db, args.workers)
        try:
            queries = iter(make_queries(sample, seed=2))
            for c in args.connections:
                paths = [f"/search?{httpx.QueryParams({'q': next(queries)})}" for _ in range(need)]
                load(app.url, paths[:200], c, 2.0)
                fts[c] = load(app.url, paths[200:], c, args.seconds)
                print(f"  {'fts5':<13} {c:>3} connections: {fmt(fts[c])}", flush=True)
        finally:
            app.stop()
    report(results, fts, fresh, args)
    shutil.rmtree(work, ignore_errors=True)
    return 0


# --- the corpus ---------------------------------------------------------------------------

def settings_for(data_dir: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url)


def build_synthetic(data_dir: Path, n: int, database_url: str | None) -> None:
    """bench/search.py's synthetic papers, with synthetic vectors stored as their embeddings (so
    the indexer, pgvector included, takes them instead of running the model), then indexed.

    The vectors lie in the real model's space (`real_space_vectors`): the queries and the
    freshness papers are embedded by the real model, and against bench/search.py's random
    topic centres every one of them was an outlier, which an HNSW walk serves slowly and finds
    badly (at a million papers, 15 of 20 fresh papers were never found by meaning).

    The papers and vectors are stored through a bare `Store` before any `Radar` exists: a Radar's
    search creates the model's HNSW index, and every vector stored after that is inserted into
    the graph one at a time (~140 papers/s against ~1,750 when the index is built afterwards).
    On PostgreSQL the bench database gets `maintenance_work_mem` 4GB so that build stays in
    memory (docs/deploy.md)."""
    import numpy as np
    from sqlalchemy import text

    from search import papers
    from paperradar.indexer import _batches
    from paperradar.ingest import ingest
    from paperradar.radar import Radar
    from paperradar.store import Store

    settings = settings_for(data_dir, database_url)
    store = Store.from_settings(settings)
    try:
        if store.is_postgresql:
            with store.engine.begin() as conn:
                conn.execute(text("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET maintenance_work_mem = %L', "
                                  "current_database(), '4GB'); END $$"))
        if store.count_papers() < n:
            t0 = time.perf_counter()
            ingest(store, papers(n), progress=_progress("papers", n))
            print(f"\nstored {n:,} papers in {time.perf_counter() - t0:.0f} s", flush=True)
        if store.embedding_counts().get(settings.embedding_name, 0) < n:
            t0 = time.perf_counter()
            rng, anchors = np.random.default_rng(1), real_vectors(settings.embedding_name)
            done = _progress("vectors", n)
            for batch in _batches(((p.id, p.content_hash()) for _, p in store.papers_changed_since(0)), 20_000):
                vectors = real_space_vectors(len(batch), rng, anchors)
                store.put_embeddings(settings.embedding_name, [(i, h, v) for (i, h), v in zip(batch, vectors)])
                done(len(batch))
            print(f"\nstored their vectors in {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        store.close()
    r = Radar(settings)
    try:
        t0 = time.perf_counter()
        if r.sync_indexes():
            print(f"indexed in {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        r.close()


def real_vectors(model: str):
    """The demo corpus's shipped vectors (1,016 abstracts embedded by the real model)."""
    import numpy as np

    from paperradar import demo_vectors

    shipped = demo_vectors.load(model)
    if not shipped:
        sys.exit(f"no demo vectors are shipped for {model}: run with the default model")
    return np.stack(list(shipped.values()))


def real_space_vectors(rows: int, rng, anchors):
    """Each vector a random mixture of three real abstracts' vectors (Dirichlet weights, 0.3,
    so one abstract mostly leads) plus noise, normalized. Pairwise cosines come out as the real
    ones do (median 0.39 and 99.9th percentile 0.74, against 0.34 and 0.69 among the demo's
    abstracts), over the directions the real model uses."""
    import numpy as np

    picks = rng.integers(0, len(anchors), (rows, 3))
    weights = rng.dirichlet((0.3, 0.3, 0.3), rows).astype(np.float32)
    v = np.einsum("rk,rkd->rd", weights, anchors[picks])
    v += rng.standard_normal(v.shape).astype(np.float32) * (0.3 / np.sqrt(v.shape[1]))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _progress(what: str, total: int):
    done, t0 = 0, time.perf_counter()

    def step(k: int) -> None:
        nonlocal done
        done += k
        rate = done / max(time.perf_counter() - t0, 1e-9)
        print(f"\r  {what}: {done:,} of {total:,} ({rate:,.0f}/s)", end="", flush=True)
    return step


def corpus_sample(data_dir: Path, database_url: str | None, size: int = 20_000) -> list[Paper]:
    from paperradar.store import Store

    store = Store(settings_for(data_dir, database_url).db_url, migrate_schema=False)
    try:
        return store.latest_papers(size)
    finally:
        store.close()


def all_papers(data_dir: Path, database_url: str | None):
    from paperradar.store import Store

    store = Store(settings_for(data_dir, database_url).db_url, migrate_schema=False)
    try:
        for _, p in store.papers_changed_since(0):
            if not p.withdrawn:
                yield p
    finally:
        store.close()


def make_queries(sample: list[Paper], seed: int):
    """Endless distinct queries: three consecutive title words, or two or three words of one
    abstract; a query already made is skipped, so none repeats."""
    rng, seen = random.Random(seed), set()
    words = [[w for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", p.title + " " + p.abstract) if w.lower() not in STOPWORDS]
             for p in sample]
    words = [w for w in words if len(w) >= 4]
    while True:
        ws = rng.choice(words)
        if rng.random() < 0.3:
            i = rng.randrange(len(ws) - 2)
            q = " ".join(ws[i:i + 3])
        else:
            q = " ".join(rng.sample(ws, rng.choice((2, 3))))
        if q.lower() not in seen:
            seen.add(q.lower())
            yield q


def page_paths(page: str, sample: list[Paper], queries: list[str]) -> list[str]:
    enc = lambda q: str(httpx.QueryParams({"q": q}))  # noqa: E731
    if page == "hybrid":
        return [f"/search?{enc(q)}" for q in queries]
    if page == "keyword":
        return [f"/search?{enc(q)}&mode=lexical" for q in queries]
    if page == "keyword-json":
        return [f"/api/papers/search?{enc(q)}&mode=lexical&limit=20" for q in queries]
    if page == "paper":
        ids = [p.id for p in sample]
        random.Random(3).shuffle(ids)
        return [f"/papers/{ids[i % len(ids)]}" for i in range(len(queries))]
    if page == "home":
        return ["/"] * len(queries)
    raise SystemExit(f"unknown page {page!r}; pages: hybrid, keyword, keyword-json, paper, home")


# --- the servers --------------------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """`paperradar serve --workers N` as a subprocess, up when every worker answers /health."""

    def __init__(self, data_dir: Path, database_url: str | None, workers: int):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The API's per-client rate limit would refuse one address sending thousands of requests.
        env = {**os.environ, "PAPERRADAR_API_RATE_LIMIT": "0", "PAPERRADAR_DATA_DIR": str(data_dir)}
        if database_url:
            env["PAPERRADAR_DATABASE_URL"] = database_url
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "paperradar", "serve", "--workers", str(workers),
                                      "--port", str(self.port)], env=env, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        self.clients = connections_by_pid(self.url, workers, self.proc, self.log)

    def stop(self) -> None:
        for c in getattr(self, "clients", {}).values():
            c.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 2)
            self.proc.wait(60)


class FtsServe:
    def __init__(self, db: Path, workers: int):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "fts5_app.py"), "--workers", str(workers),
                                      "--port", str(self.port)], env={**os.environ, "FTS5_DB": str(db)},
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        for _ in range(600):
            if self.proc.poll() is not None:
                break
            try:
                httpx.get(f"{self.url}/search", params={"q": "model"}, timeout=5).raise_for_status()
                return
            except httpx.TransportError:
                time.sleep(0.2)
        self.log.seek(0)
        raise SystemExit(f"the FTS5 app did not start:\n{self.log.read()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 2)
            self.proc.wait(60)


def connections_by_pid(url: str, want: int, proc, log, timeout: float = 900) -> dict[int, httpx.Client]:
    """One keep-alive connection per worker process (a connection stays with the process that
    accepted it), found by asking /health on new connections."""
    found: dict[int, httpx.Client] = {}
    deadline = time.monotonic() + timeout
    while len(found) < want:
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise SystemExit(f"the server stopped or never answered with {want} workers:\n{log.read()[-3000:]}")
        client = httpx.Client(base_url=url, timeout=30)
        try:
            pid = client.get("/health").json()["pid"]
        except httpx.TransportError:
            client.close()
            time.sleep(0.2)
            continue
        if pid in found:
            client.close()
        else:
            found[pid] = client
    return found


# --- load ---------------------------------------------------------------------------------

def load(url: str, paths: list[str], connections: int, seconds: float) -> dict:
    if shutil.which("wrk"):
        return _wrk(url, paths, connections, seconds)
    return asyncio.run(_httpx_load(url, paths, connections, seconds))


def _wrk(url: str, paths: list[str], connections: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "paths").write_text("\n".join(paths) + "\n")
        (Path(tmp) / "bench.lua").write_text(LUA)
        done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                               "-s", str(Path(tmp) / "bench.lua"), url],
                              env={**os.environ, "BENCH_PATHS": str(Path(tmp) / "paths")},
                              capture_output=True, text=True, check=True)
    r = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    return {"rps": r["requests"] / r["seconds"], "errors": r["errors"], "requests": r["requests"],
            "p50": r["p50"] / 1000, "p95": r["p95"] / 1000, "p99": r["p99"] / 1000}


async def _httpx_load(url: str, paths: list[str], connections: int, seconds: float) -> dict:
    latencies, errors, i = [], 0, 0
    deadline = time.perf_counter() + seconds

    async def user(client: httpx.AsyncClient) -> None:
        nonlocal errors, i
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                r = await client.get(path)
                if r.status_code >= 400:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - t0) * 1000)

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(user(client) for _ in range(connections)))
        took = time.perf_counter() - t0
    return {"rps": len(latencies) / took, "errors": errors, "requests": len(latencies),
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99)}


def fmt(r: dict) -> str:
    return (f"{r['rps']:8.1f} req/s  p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
            f"errors {r['errors']} of {r['requests']}")


# --- freshness ----------------------------------------------------------------------------

def freshness(server: Serve, data_dir: Path, database_url: str | None, rounds: int) -> dict:
    """Per round: commit one new paper here, then poll every worker until each finds it by
    keyword and by meaning; the round's delays are the slowest worker's."""
    from paperradar.store import Store

    store = Store(settings_for(data_dir, database_url).db_url, migrate_schema=False)
    stamp = f"{int(time.time()) % 100000:05d}"
    rng = random.Random(stamp)
    keyword, meaning, missed = [], [], 0
    try:
        for n in range(rounds):
            word = f"zq{stamp}x{n}"
            # Two odd topics and a place: no earlier round, in this run or one before it on the
            # same database, wrote the same text, which would tie with this paper by meaning.
            first, second = rng.sample(ODD_TOPICS, 2)
            topic = f"{first} and {second} in {rng.choice(PLACES)}"
            p = Paper(id=f"fresh-{stamp}-{n}", title=f"{topic.capitalize()} studied with {word}",
                      abstract=f"We study {topic} over ten seasons of field measurements and report what changed.",
                      authors=["Fresh Bench"], categories=["physics.gen-ph"])
            store.upsert_papers([p])
            committed = time.monotonic()
            firsts: dict[tuple[int, str], float] = {}
            while len(firsts) < 2 * len(server.clients) and time.monotonic() < committed + 30:
                for pid, client in server.clients.items():
                    for kind, params in (("keyword", {"q": word, "mode": "lexical", "limit": 3}),
                                         ("meaning", {"q": p.title.replace(word, "").strip(), "mode": "vector", "limit": 3})):
                        if (pid, kind) not in firsts:
                            ids = [x["id"] for x in client.get("/api/papers/search", params=params).json()]
                            if p.id in ids:
                                firsts[(pid, kind)] = time.monotonic() - committed
                time.sleep(0.02)
            if len(firsts) < 2 * len(server.clients):
                missed += 1
                lacking = [f"{kind} in worker {pid}" for pid in server.clients for kind in ("keyword", "meaning")
                           if (pid, kind) not in firsts]
                print(f"  freshness round {n}: {p.id} not found within 30 s by {', '.join(lacking)}", flush=True)
                continue
            keyword.append(max(t for (_, k), t in firsts.items() if k == "keyword"))
            meaning.append(max(t for (_, k), t in firsts.items() if k == "meaning"))
    finally:
        store.close()
    return {"keyword": keyword, "meaning": meaning, "missed": missed, "rounds": rounds}


# --- report -------------------------------------------------------------------------------

def report(results: dict, fts: dict, fresh: dict | None, args) -> None:
    cs = args.connections
    low, high = min(cs), max(cs)
    print(f"\nthroughput at {low} connections (req/s; more is better), {args.workers} workers:")
    names = {"hybrid": "hybrid search page (MiniLM)", "keyword": "keyword search page", "keyword-json":
             "keyword search, JSON API", "paper": "paper page (with similar papers)", "home": "home page"}
    for page in args.pages:
        if (page, low) in results:
            target = TARGETS.get("keyword" if page == "keyword-json" else page)
            print(row(names[page], results[(page, low)]["rps"], "req/s", target, lower_is_better=False))
    print(f"\nerrors (target 0) and p99 growth from {low} to {high} connections (target ≤ {P99_GROWTH:g}×):")
    for page in args.pages:
        errors = sum(results[(page, c)]["errors"] for c in cs if (page, c) in results)
        print(row(f"{names[page]}: errors", errors, "", 0))
        if (page, low) in results and (page, high) in results and low != high:
            growth = results[(page, high)]["p99"] / max(results[(page, low)]["p99"], 1e-6)
            print(row(f"{names[page]}: p99@{high} / p99@{low}", growth, "×", P99_GROWTH))
            # A closed loop (each connection sends its next request when the last is answered)
            # that `low` connections already saturate: by Little's law the mean latency grows by
            # high/low times the fall in req/s, whatever the server (FTS5's below shows the same).
            if results[(page, high)]["rps"] and results[(page, low)]["rps"]:
                print(row(f"{names[page]}: mean@{high} / mean@{low}",
                          (high / results[(page, high)]["rps"]) / (low / results[(page, low)]["rps"]), "×"))
    if fts and ("keyword-json", low) in results:
        print(f"\nSQLite FTS5 BM25 beside our keyword search (same papers, same kind of queries, JSON, {args.workers} workers):")
        for c in cs:
            if c in fts and ("keyword-json", c) in results:
                ratio = results[("keyword-json", c)]["rps"] / fts[c]["rps"]
                print(f"  {c:>3} connections: ours {results[('keyword-json', c)]['rps']:.1f} req/s, "
                      f"FTS5 {fts[c]['rps']:.1f} req/s")
                print(row(f"ours / FTS5 at {c} connections", ratio, "×", FTS_RATIO, lower_is_better=False))
        if low in fts and high in fts and low != high:
            print(row(f"FTS5's own p99@{high} / p99@{low}", fts[high]["p99"] / max(fts[low]["p99"], 1e-6), "×",
                      P99_GROWTH))
    if args.database_url and ("hybrid", low) in results:
        print(f"\nPostgreSQL at {args.papers or 'demo'} papers:")
        print(row(f"hybrid search p95 over HTTP at {low} connections", results[("hybrid", low)]["p95"], "ms",
                  PG_HYBRID_P95_MS))
    if fresh:
        print(f"\nfreshness: commit here → found in every worker ({len(fresh['keyword'])} of {fresh['rounds']} rounds; "
              f"{fresh['missed']} not found within 30 s):")
        for kind in ("keyword", "meaning"):
            if fresh[kind]:
                print(row(f"by {kind}: p50", median(fresh[kind]), "s"))
                print(row(f"by {kind}: p95", percentile(fresh[kind], 95), "s", FRESH_P95_S))


if __name__ == "__main__":
    sys.exit(main())
