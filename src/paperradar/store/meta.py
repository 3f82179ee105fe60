"""Small key/value state: checkpoints, index watermarks, the model that built the vectors."""

from __future__ import annotations

from sqlalchemy import Connection, select

from .db import dialect_insert
from .schema import meta


def get(conn: Connection, key: str, default: str | None = None) -> str | None:
    value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    return default if value is None else value


def put(conn: Connection, key: str, value: str) -> None:
    """Set `key` (one upsert: concurrent writers leave one row, the last to commit wins)."""
    stmt = dialect_insert(conn, meta).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": stmt.excluded.value}))


def put_if_absent(conn: Connection, key: str, value: str) -> str:
    """Set `key` unless it is set; the value it holds afterwards. Of concurrent callers the first
    to commit wins and every one of them reads its value (ON CONFLICT DO NOTHING, then a read
    that waits for the winner's commit on PostgreSQL and runs under the write lock on SQLite)."""
    stmt = dialect_insert(conn, meta).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[meta.c.key]))
    return get(conn, key)
