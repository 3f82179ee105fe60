"""Harvest overhead: seconds per OAI-PMH page of 2,500 records beyond the pacing.

    python bench/harvest.py              # 8 pages of 2,500 records
    python bench/harvest.py --pages 40

Runs `harvest_arxiv` with pace 0 against the fake arXiv from the test suite (a real HTTP server
on 127.0.0.1 serving pre-built pages), into a fresh SQLite store, and prints the time per page
(request, transfer, parse, upsert, checkpoint) next to the 1 s target. A second pass over the
same window (every record unchanged) is shown too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.oai_pages import arxiv_list  # noqa: E402
from fakes.oai_server import FakeArxiv  # noqa: E402
from paperradar.config import Settings  # noqa: E402
from paperradar.harvest import harvest_arxiv  # noqa: E402
from paperradar.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8, help="pages of --per-page records")
    parser.add_argument("--per-page", type=int, default=2500, help="records per page (arXiv serves 2,500)")
    args = parser.parse_args()
    pages = arxiv_list(args.pages * args.per_page, args.per_page, name="bench")
    print(f"{args.pages} pages of {args.per_page:,} records, {sum(map(len, pages)) / len(pages) / 1e6:.1f} MB each")
    with FakeArxiv() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.serve_list(pages, fmt="arXiv", set_spec="cs")
        settings = Settings(data_dir=Path(tmp) / "data", oai_endpoint=fake.oai_url, harvest_pace_s=0.0)
        store = Store.from_settings(settings)
        for label in ("new records", "same window again"):
            t0 = time.perf_counter()
            counts = harvest_arxiv(store, settings, "cs", "2024-01-01")
            per_page = (time.perf_counter() - t0) / counts.pages
            verdict = "OK" if per_page <= 1.0 else "MISSED"
            print(f"{label:18s} {per_page:6.2f} s/page  ({counts.added:,} added, {counts.unchanged:,} unchanged)"
                  f"   target <= 1 s/page beyond pacing   {verdict}")
        store.close()
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
