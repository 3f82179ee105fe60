"""Job runs: when each harvest / import / update started and ended, what it counted, how it failed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, insert, select, update

from .schema import runs


@dataclass
class Run:
    id: int
    job: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str  # running, ok, failed
    counts: dict = field(default_factory=dict)
    error: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def start(conn: Connection, job: str) -> int:
    result = conn.execute(insert(runs).values(job=job, started_at=_now(), status="running", counts="{}"))
    return int(result.inserted_primary_key[0])


def finish(conn: Connection, run_id: int, status: str, counts: dict, error: str | None = None) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(
        finished_at=_now(), status=status, counts=json.dumps(counts, sort_keys=True), error=error))


def last(conn: Connection, limit: int = 10, job: str | None = None) -> list[Run]:
    """The most recent runs, newest first (optionally of one job)."""
    q = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
    if job:
        q = q.where(runs.c.job == job)
    return [Run(r.id, r.job, r.started_at, r.finished_at, r.status, json.loads(r.counts or "{}"), r.error)
            for r in conn.execute(q)]
