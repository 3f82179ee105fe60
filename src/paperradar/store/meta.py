"""Small key/value state: checkpoints, index watermarks, the model that built the vectors."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from .schema import meta


def get(conn: Connection, key: str, default: str | None = None) -> str | None:
    value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    return default if value is None else value


def put(conn: Connection, key: str, value: str) -> None:
    conn.execute(delete(meta).where(meta.c.key == key))
    conn.execute(insert(meta).values(key=key, value=value))
