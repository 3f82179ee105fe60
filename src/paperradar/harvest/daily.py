"""The daily job: `update` (harvest every configured set since its checkpoint, then let the
ingest hook embed and index) and `worker` (every day at a set UTC time: `update`, then the
day's digests; in between, the digest retries as they fall due).

Each `update` is recorded in the `runs` table (start, end, counts, error) like every job.
A failed update does not cost subscribers their digest: the worker sends the day's digests from
the papers already stored, and says so. Mail deferred by the server (4xx) is sent again when its
`next_attempt_at` comes, not the next day; a digest run that the mail server or the database
stopped early is tried again after `digest_retry_base` seconds, doubling up to an hour. One
failed run is logged and the worker goes on; `WorkerResult` counts the failed daily runs (the
`--once` exit status).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

from ..config import Settings
from ..store import Store
from ..store.papers import now as utcnow
from .arxiv_oai import client_from, harvest_arxiv
from .jobs import Counts, OnChange, ProgressFn, recorded_run

if TYPE_CHECKING:
    from ..digest.run import DigestReport


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


MAX_RETRY_WAIT = 3600.0  # the digest backoff's cap, as for a row's own retries


class Digests(Protocol):
    """What the worker needs of the digests (`digest.run.DigestService`)."""

    def run(self, digest_date: dt.date) -> "DigestReport": ...  # plan the day, send what is due

    def retry(self, up_to: dt.date) -> "DigestReport": ...  # send what is due, plan nothing


@dataclass
class WorkerResult:
    runs: int = 0  # daily runs made
    failed: int = 0  # daily runs in which the update or the digests failed
    retries: int = 0  # digest retries between daily runs


def run_worker(store: Store, settings: Settings, *, update: Callable[[], object] | None = None,
               digests: Digests | None = None, stop: threading.Event | None = None, run_now: bool = False,
               log: Callable[[str], None] = print, max_runs: int | None = None,
               clock: Callable[[], dt.datetime] = utcnow) -> WorkerResult:
    """Every day at `settings.worker_time` (UTC): `update()`, then `digests.run(today)`; between
    daily runs, `digests.retry(today)` whenever a retry is due. Runs until `stop` is set or
    after `max_runs` daily runs (then no retries are waited for). `run_now`: the first daily run
    starts at once."""
    stop = stop or threading.Event()
    update = update or (lambda: run_update(store, settings))
    result = WorkerResult()
    next_daily = clock() if run_now else next_run_at(clock(), settings.worker_time)
    retry = _Retry(settings.digest_retry_base)
    day = next_daily.date()
    while not stop.is_set() and (max_runs is None or result.runs < max_runs):
        daily = retry.due is None or next_daily <= retry.due
        wake = next_daily if daily else retry.due
        wait = (wake - clock()).total_seconds()
        if wait > 0:
            log(f"next {'update' if daily else 'digest retry'} at {wake:%Y-%m-%d %H:%M:%S} UTC")
            if stop.wait(wait):
                break
        if daily:
            day = clock().date()
            ok = _update(update, log, digests is not None)
            ok = _digests(lambda: digests.run(day), retry, clock, log) and ok if digests else ok
            result.runs += 1
            result.failed += not ok
            next_daily = next_run_at(clock(), settings.worker_time)
        else:
            result.retries += 1
            # A day whose planning failed is planned by its retry; otherwise only sends.
            step = (lambda: digests.run(day)) if retry.replan else (lambda: digests.retry(day))
            _digests(step, retry, clock, log)
    return result


class _Retry:
    """When the worker next tries the digests: a row's `next_attempt_at`, or a doubling backoff
    after a run the mail server or the database stopped (or that raised)."""

    def __init__(self, base: float):
        self.base = max(base, 1.0)
        self.due: dt.datetime | None = None
        self.failures = 0
        self.replan = False

    def after_failure(self, now: dt.datetime, *, replan: bool) -> float:
        self.failures += 1
        self.replan = replan
        delay = min(self.base * 2 ** (self.failures - 1), MAX_RETRY_WAIT)
        self.due = now + dt.timedelta(seconds=delay)
        return delay

    def after_success(self, now: dt.datetime, next_retry: dt.datetime | None) -> None:
        self.failures = 0
        self.replan = False
        # at least a second ahead: a row due "now" to the second is not claimable for a moment
        self.due = max(next_retry, now + dt.timedelta(seconds=1)) if next_retry else None


def _update(update: Callable[[], object], log: Callable[[str], None], digests_follow: bool) -> bool:
    try:
        result = update()
    except Exception as exc:  # recorded in `runs` by the job; the digests still go out
        log(f"update failed: {exc}" + ("; sending today's digests from the papers already stored"
                                       if digests_follow else ""))
        return False
    log(f"update done: {_summary(result)}")
    return True


def _digests(step: Callable[[], "DigestReport"], retry: _Retry, clock: Callable[[], dt.datetime],
             log: Callable[[str], None]) -> bool:
    """Run one digest step, log it and schedule the next retry; False when it failed."""
    try:
        report = step()
    except Exception as exc:  # e.g. the database went away while planning: plan again later
        delay = retry.after_failure(clock(), replan=True)
        log(f"digests failed: {exc}; trying again in {delay:.0f}s")
        return False
    states = ", ".join(f"{k} {v}" for k, v in sorted(report.states.items())) or "nothing to send"
    log(f"digest {report.digest_date}: {states}")
    stopped = report.send.stopped if report.send else None
    if stopped:
        delay = retry.after_failure(clock(), replan=False)
        log(f"digests stopped early, {stopped}; trying again in {delay:.0f}s")
        return False
    retry.after_success(clock(), report.next_retry)
    return True


def _summary(result: object) -> str:
    if isinstance(result, Counts):
        return (f"{result.records} records, {result.added} added, {result.updated} updated, "
                f"{result.withdrawn} withdrawn, {result.errors} errors")
    return str(result)
