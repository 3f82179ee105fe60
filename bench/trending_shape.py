"""What trending surfaces on the real Hugging Face Daily Papers (../shared/data), against sorting
the same week by points alone: how fresh each top 10 is, and how long yesterday's top paper stays.

Not a speed target: the evidence behind docs/trending.md. Usage:
    python bench/trending_shape.py [--file ../shared/data/hf_daily_papers.jsonl.gz] [--days 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path

from paperradar.community import daily
from paperradar.community.periods import Period
from paperradar.harvest.files import import_hf_daily
from paperradar.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf_daily_papers.jsonl.gz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DATA)
    ap.add_argument("--days", type=int, default=60, help="listing days measured (the most recent)")
    args = ap.parse_args()
    if not args.file.exists():
        print(f"no data file at {args.file}; nothing measured")
        return 0
    store = Store(f"sqlite:///{tempfile.mkdtemp()}/t.db")
    import_hf_daily(store, args.file)
    days = sorted(store.listing_day_counts(dt.date(2000, 1, 1), dt.date(2100, 1, 1)))[-args.days:]
    fresh = {"trending": [], "votes": []}
    stays = {"trending": [], "votes": []}
    previous_top: dict[str, str | None] = {"trending": None, "votes": None}
    for day in days:
        week = Period("week", day - dt.timedelta(days=6), day)
        end = dt.datetime.combine(day, dt.time(23, 59, 59))
        for sort in ("trending", "votes"):
            view = daily.view(store, week, sort=sort, now=end, size=10, ranking=daily.Ranking(star_weight=1.0))
            fresh[sort].append(sum(e.listing.day == day for e in view.entries) / max(1, len(view.entries)))
            ids = [e.paper.id for e in view.entries]
            if previous_top[sort] is not None:
                stays[sort].append(previous_top[sort] in ids[:3])
            previous_top[sort] = ids[0] if ids else None
    print(f"{len(days)} listing days up to {days[-1]}, week window, measured at the end of each day")
    for sort in ("trending", "votes"):
        print(f"  sort={sort:<9} share of the top 10 listed that day: {statistics.mean(fresh[sort]):.2f}   "
              f"yesterday's #1 still in the top 3: {statistics.mean(stays[sort]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
