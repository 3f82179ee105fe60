"""Feedback: a subscriber's "more like this" (+1) and "less like this" (-1) on a paper."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

from .db import dialect_insert
from .schema import feedback

_CHUNK = 500


def put(conn: Connection, subscriber_id: int, paper_id: str, value: int, now: dt.datetime) -> None:
    """Record or replace the subscriber's opinion of a paper; the latest click wins."""
    if value not in (1, -1):
        raise ValueError(f"feedback value must be +1 or -1, not {value!r}")
    stmt = dialect_insert(conn, feedback).values(subscriber_id=subscriber_id, paper_id=paper_id, value=value,
                                                 created_at=now)
    conn.execute(stmt.on_conflict_do_update(  # uq_feedback: one row per pair, whatever the race
        index_elements=[feedback.c.subscriber_id, feedback.c.paper_id],
        set_={"value": stmt.excluded.value, "created_at": stmt.excluded.created_at}))


def for_subscribers(conn: Connection, subscriber_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """{subscriber id: [(paper id, +1/-1), ...]} for those who gave any feedback."""
    out: dict[int, list[tuple[str, int]]] = {}
    for i in range(0, len(subscriber_ids), _CHUNK):
        q = (select(feedback.c.subscriber_id, feedback.c.paper_id, feedback.c.value)
             .where(feedback.c.subscriber_id.in_(subscriber_ids[i : i + _CHUNK]))
             .order_by(feedback.c.subscriber_id, feedback.c.created_at))
        for sid, pid, value in conn.execute(q):
            out.setdefault(sid, []).append((pid, value))
    return out
