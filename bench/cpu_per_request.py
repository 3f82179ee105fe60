"""CPU time per request of each page, all layers (HTTP server, framework, store, rendering,
search): what a busy machine can still measure when req/s cannot be trusted.

    python bench/cpu_per_request.py                  # demo corpus, one `serve` process
    python bench/cpu_per_request.py --pages home paper --seconds 5 --runs 5

One `paperradar serve --workers 1` (the app in the serving process itself) is driven by `wrk`
(8 connections, distinct requests as bench/scaleout.py makes them); the server process's CPU
time (user + system, every thread: /proc/PID/stat) over a run divided by the requests answered
is the figure. It does not depend on how much CPU other jobs leave this process, only on what
one request costs, so it is the number to compare before and after a change. Each figure is
the median of `--runs` runs, next to the budget that issue 13's req/s targets imply on 2 cores
(2 cores / target req/s, e.g. 2000 ms / 600 req/s = 3.3 ms for the home page).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import median, row  # noqa: E402
from scaleout import Serve, corpus_sample, load, make_queries, page_paths  # noqa: E402

BUDGET_MS = {"hybrid": 2000 / 300, "keyword": 2000 / 550, "keyword-json": 2000 / 550, "paper": 2000 / 800,
             "home": 2000 / 600}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime of every thread


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/cpu-per-request-data"),
                    help="kept between runs: the demo corpus is loaded once")
    ap.add_argument("--pages", nargs="+", default=["hybrid", "keyword", "keyword-json", "paper", "home"])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()

    server = Serve(args.data_dir, None, 1)
    try:
        sample = corpus_sample(args.data_dir, None)
        queries = iter(make_queries(sample, seed=int(time.time())))
        print(f"CPU per request of one serve process (ms; {args.runs} runs of {args.seconds:g} s, "
              f"{args.connections} connections, median):")
        for page in args.pages:
            per = []
            for _ in range(args.runs + 1):  # the first run warms up (model, caches) and is dropped
                paths = page_paths(page, sample, [next(queries) for _ in range(int(args.seconds * 1500) + 50)])
                before = cpu_seconds(server.proc.pid)
                r = load(server.url, paths, args.connections, args.seconds)
                after = cpu_seconds(server.proc.pid)
                if r["errors"]:
                    print(f"  {page}: {r['errors']} errors of {r['requests']}")
                per.append(1000 * (after - before) / max(1, r["requests"]))
            print(row(f"{page} ({', '.join(f'{x:.2f}' for x in per[1:])})", median(per[1:]), "ms",
                      round(BUDGET_MS[page], 2)), flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
