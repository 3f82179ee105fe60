"""Fixed-window rate-limit counters, kept in the database so every web process shares them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, case, delete

from .db import dialect_insert
from .schema import rate_limits


def hit(conn: Connection, key: str, *, limit: int, window: dt.timedelta, now: dt.datetime) -> bool:
    """Count one hit on `key`; True while the window's count stays within `limit`.

    One upsert counts it: the key's row is created at 1, or bumped, or restarted at 1 when its
    window is over. The database serialises concurrent hits on the row, so 50 simultaneous
    hits against a limit of 10 let exactly 10 through (a read-then-write would let more).
    """
    return add(conn, key, 1, window=window, now=now) <= limit


def add(conn: Connection, key: str, hits: int, *, window: dt.timedelta, now: dt.datetime) -> int:
    """Count `hits` hits on `key` at once (a web process's batch: web/api_limit.py); the
    window's count afterwards. One upsert, as `hit`."""
    expired = rate_limits.c.window_start <= now - window
    stmt = dialect_insert(conn, rate_limits).values(key=key, window_start=now, count=hits)
    stmt = stmt.on_conflict_do_update(
        index_elements=[rate_limits.c.key],
        # Both right-hand sides see the row as it was before this update.
        set_={"count": case((expired, hits), else_=rate_limits.c.count + hits),
              "window_start": case((expired, now), else_=rate_limits.c.window_start)},
    ).returning(rate_limits.c.count)
    return conn.execute(stmt).scalar_one()


def prune(conn: Connection, older_than: dt.datetime) -> int:
    return conn.execute(delete(rate_limits).where(rate_limits.c.window_start < older_than)).rowcount
