"""The daily job: `update` (harvest every configured set since its checkpoint, then let the
ingest hook embed and index) and `worker` (run `update` once a day at a set UTC time).

Each `update` is recorded in the `runs` table (start, end, counts, error) like every job.
The worker sleeps until the next `worker_time`, runs, and repeats; one failed run is recorded
and the worker goes on to the next day instead of dying.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Callable

from ..config import Settings
from ..store import Store
from .arxiv_oai import client_from, harvest_arxiv
from .jobs import Counts, OnChange, ProgressFn, recorded_run


def run_update(store: Store, settings: Settings, *, progress: ProgressFn | None = None,
               on_change: OnChange | None = None, after: Callable[[], dict] | None = None,
               today: dt.date | None = None) -> Counts:
    """Harvest each of `settings.harvest_sets` since its checkpoint, then call `after()`.

    A set never harvested before starts `update_first_days` days back. `after` is where the
    ingest pipeline catches the indexes up (embed, index); the counts it returns are added to
    the run record under their own names.
    """
    today = today or dt.datetime.now(dt.timezone.utc).date()
    default_from = (today - dt.timedelta(days=settings.update_first_days)).isoformat()
    counts = Counts()
    with recorded_run(store, "update", counts), client_from(settings) as client:
        for name in settings.harvest_sets.split() or [None]:
            part = harvest_arxiv(store, settings, name, default_from=default_from, progress=progress,
                                 on_change=on_change, client=client)
            counts.merge(part)
        if after is not None:
            counts.extra.update(after() or {})
    return counts


def next_run_at(now: dt.datetime, at: str) -> dt.datetime:
    """The next moment (UTC, strictly after `now`) whose time of day is `at` ("HH:MM")."""
    hour, minute = (int(x) for x in at.split(":"))
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + dt.timedelta(days=1)


def run_worker(store: Store, settings: Settings, *, stop: threading.Event | None = None,
               run_now: bool = False, job: Callable[[], object] | None = None,
               log: Callable[[str], None] = print, max_runs: int | None = None) -> int:
    """Run `update` (or `job`) every day at `settings.worker_time` until `stop` is set.

    Returns how many runs it made. `run_now` runs once immediately before waiting.
    """
    stop = stop or threading.Event()
    job = job or (lambda: run_update(store, settings))
    runs = 0
    first = run_now
    while not stop.is_set() and (max_runs is None or runs < max_runs):
        if not first:
            now = dt.datetime.now(dt.timezone.utc)
            due = next_run_at(now, settings.worker_time)
            log(f"next update at {due:%Y-%m-%d %H:%M} UTC")
            if stop.wait((due - now).total_seconds()):
                break
        first = False
        try:
            result = job()
            log(f"update done: {_summary(result)}")
        except Exception as exc:  # recorded in `runs` by the job; the worker lives to the next day
            log(f"update failed: {exc}")
        runs += 1
    return runs


def _summary(result: object) -> str:
    if isinstance(result, Counts):
        return (f"{result.records} records, {result.added} added, {result.updated} updated, "
                f"{result.withdrawn} withdrawn, {result.errors} errors")
    return str(result)
