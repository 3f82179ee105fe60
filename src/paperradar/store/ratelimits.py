"""Fixed-window rate-limit counters, kept in the database so every web process shares them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, insert, select, update

from .schema import rate_limits


def hit(conn: Connection, key: str, *, limit: int, window: dt.timedelta, now: dt.datetime) -> bool:
    """Count one hit on `key`; True while the window's count stays within `limit`."""
    row = conn.execute(select(rate_limits).where(rate_limits.c.key == key)).first()
    if row is None or row.window_start <= now - window:
        conn.execute(delete(rate_limits).where(rate_limits.c.key == key))
        conn.execute(insert(rate_limits).values(key=key, window_start=now, count=1))
        return limit >= 1
    conn.execute(update(rate_limits).where(rate_limits.c.key == key).values(count=rate_limits.c.count + 1))
    return row.count + 1 <= limit


def prune(conn: Connection, older_than: dt.datetime) -> int:
    return conn.execute(delete(rate_limits).where(rate_limits.c.window_start < older_than)).rowcount
