"""Topics at scale: the fit, assigning new papers, the map's data, /topics, and the map in Chromium.

    python bench/topics.py                    # 20,000 papers: what make bench runs
    python bench/topics.py --papers 100000    # the issue's size (fit ≤ 10 min, RSS ≤ 4 GiB)

Data: papers with titles and abstracts recombined from the demo corpus, and 384-dimensional
unit vectors drawn around 300 hidden centres (so there is structure to find), stored as the
store keeps embeddings; listed over the last 16 weeks. Measured: `topics rebuild` (wall time,
peak RSS of this process), `topics assign` of 5,000 new papers (papers/s), `/api/map` with its
points cold (first request after a fit) and warm, `/topics` p95 over 100 requests (in-process,
TestClient), and Chromium loading /map until the points are drawn (when Chromium is installed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import demo_text, percentile, row, rss_mib  # noqa: E402

from paperradar.config import Settings  # noqa: E402
from paperradar.models import Listing, Paper  # noqa: E402

MODEL = "all-MiniLM-L6-v2"
DIM, CENTRES, NEW = 384, 300, 5000


def fill(store, n: int, start: int, rng: np.random.Generator, centres: np.ndarray) -> None:
    titles, sentences = demo_text()
    r = random.Random(start)
    last = dt.date(2026, 8, 21)
    for lo in range(start, start + n, 10_000):
        papers, vecs = [], []
        for i in range(lo, min(start + n, lo + 10_000)):
            c = i % CENTRES
            day = last - dt.timedelta(days=r.randrange(16 * 7))
            p = Paper(id=f"b{i:07d}", title=f"{titles[c % len(titles)]} ({i})",
                      abstract=" ".join(r.sample(sentences, 4)), published=day,
                      listing=Listing(day=day, source="oai"))
            papers.append(p)
            v = centres[c] + rng.normal(0, 0.6 / np.sqrt(DIM), DIM)
            vecs.append((p.id, p.content_hash(), (v / np.linalg.norm(v)).astype(np.float32)))
        store.apply_batch(papers, bulk=True)
        store.put_embeddings(MODEL, vecs)


def chromium_render_ms(url: str) -> float | None:
    if not shutil.which("chromium"):
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        t0 = time.perf_counter()
        page.goto(url + "/map")
        page.wait_for_selector("canvas[data-ready='1']", timeout=60_000)
        ms = (time.perf_counter() - t0) * 1000
        browser.close()
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--papers", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=100, help="requests for the /topics p95")
    args = ap.parse_args()
    from starlette.testclient import TestClient

    from paperradar.radar import Radar
    from paperradar.store import Store
    from paperradar.store import now as utcnow
    from paperradar.topics import build
    from paperradar.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-topics-"))
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(CENTRES, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    store = Store(f"sqlite:///{tmp}/paperradar.db")
    t0 = time.perf_counter()
    fill(store, args.papers, 0, rng, centres)
    built = time.perf_counter() - t0
    before = rss_mib()[0]
    t0 = time.perf_counter()
    report = build.rebuild(store, MODEL, now=utcnow())
    fit_s = time.perf_counter() - t0
    peak = rss_mib()[1]
    fill(store, NEW, args.papers, rng, centres)
    t0 = time.perf_counter()
    placed = build.assign(store, MODEL)
    assign_rate = placed / (time.perf_counter() - t0)
    store.close()

    settings = Settings(data_dir=tmp, api_rate_limit=0)
    radar = Radar(settings)
    app = create_app(settings, radar)
    with TestClient(app) as client:
        t0 = time.perf_counter()
        client.get("/api/map").raise_for_status()
        client.get("/api/map/points.bin").raise_for_status()
        cold = (time.perf_counter() - t0) * 1000
        warm = []
        for _ in range(5):
            t0 = time.perf_counter()
            client.get("/api/map")
            client.get("/api/map/points.bin")
            warm.append((time.perf_counter() - t0) * 1000)
        pages = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            client.get("/topics").raise_for_status()
            pages.append((time.perf_counter() - t0) * 1000)
    render_ms = _render_with_uvicorn(app)
    print(f"topics benchmark: {args.papers:,} papers ({built:.0f} s to build the data), {report.topics} topics "
          f"in {report.areas} areas")
    print(row("topic fit (rebuild)", fit_s, "s", 600))
    print(row("peak RSS of the fitting process", peak, "MiB", 4096))
    print(row("  RSS before the fit", before, "MiB"))
    print(row("assigning new papers", assign_rate, "papers/s", 1000, lower_is_better=False))
    print(row("/api/map + points, first request after a fit", cold, "ms", 500))
    print(row("/api/map + points, cached (median)", statistics.median(warm), "ms"))
    print(row("/topics p95", percentile(pages, 95), "ms", 50))
    if render_ms is not None:
        print(row("Chromium: /map until the points are drawn", render_ms, "ms", 2000))
    else:
        print("  Chromium not installed: map rendering not measured")
    radar.close()
    shutil.rmtree(tmp, ignore_errors=True)


def _render_with_uvicorn(app) -> float | None:
    import socket
    import threading

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        return chromium_render_ms(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
