"""Job runs: when each harvest / import / update started and ended, what it counted, how it failed.

A run records the process running it ("host:pid"). A process killed outright records nothing,
so a `running` run whose process is gone (same host, pid no longer running) is shown as
`abandoned`, and the next run to start records it so.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, insert, select, update

from ..processes import has_ended, this_process
from .schema import runs


@dataclass
class Run:
    id: int
    job: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str  # running, ok, failed, abandoned
    counts: dict = field(default_factory=dict)
    error: str | None = None
    owner: str | None = None  # "host:pid"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _abandoned_error(owner: str) -> str:
    return f"the process that ran it ({owner}) ended without recording a result (killed?)"


def start(conn: Connection, job: str, owner: str | None = None) -> int:
    abandon_ended(conn)
    result = conn.execute(insert(runs).values(job=job, started_at=_now(), status="running", counts="{}",
                                              owner=owner or this_process()))
    return int(result.inserted_primary_key[0])


def finish(conn: Connection, run_id: int, status: str, counts: dict, error: str | None = None) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(
        finished_at=_now(), status=status, counts=json.dumps(counts, sort_keys=True), error=error))


def abandon_ended(conn: Connection) -> int:
    """Mark `running` runs whose process has ended as abandoned; returns how many."""
    ended = [(r.id, r.owner) for r in conn.execute(select(runs.c.id, runs.c.owner).where(runs.c.status == "running"))
             if has_ended(r.owner)]
    for run_id, owner in ended:  # compare-and-set: a run that finished meanwhile keeps its result
        conn.execute(update(runs).where(runs.c.id == run_id, runs.c.status == "running")
                     .values(status="abandoned", error=_abandoned_error(owner)))
    return len(ended)


def last(conn: Connection, limit: int = 10, job: str | None = None) -> list[Run]:
    """The most recent runs, newest first (optionally of one job); a `running` run whose process
    has ended reads as abandoned even before the next run records it so."""
    q = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
    if job:
        q = q.where(runs.c.job == job)
    found = []
    for r in conn.execute(q):
        status, error = r.status, r.error
        if status == "running" and has_ended(r.owner):
            status, error = "abandoned", _abandoned_error(r.owner)
        found.append(Run(r.id, r.job, r.started_at, r.finished_at, status, json.loads(r.counts or "{}"), error,
                         r.owner))
    return found
