"""Subscribers: who gets a digest, what they are interested in, and their status.

Statuses: pending (waiting for the double opt-in), active, paused, unsubscribed, suppressed
(too many permanent delivery failures). Only active subscribers get digests.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import UserError
from .db import dialect_insert
from .schema import feedback, outbox, sent_papers, subscribers

STATUSES = ("pending", "active", "paused", "unsubscribed", "suppressed")
FREQUENCIES = ("daily", "weekly")
CONTENTS = ("interests", "trending", "both")  # what a digest holds: matches, the trending list, or both


class SubscriberExists(UserError, ValueError):
    """An address is already on the list."""


@dataclass
class Subscriber:
    id: int
    email: str
    status: str = "pending"
    frequency: str = "daily"
    topics: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    send_empty: bool = False
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    last_digest_at: dt.datetime | None = None
    permanent_failures: int = 0
    content: str = "interests"


def to_subscriber(row) -> Subscriber:
    """A Subscriber from a result row or a mapping of the table's columns."""
    m = row._mapping if hasattr(row, "_mapping") else row
    return Subscriber(
        id=m["id"], email=m["email"], status=m["status"], frequency=m["frequency"],
        topics=json.loads(m["topics"]), categories=json.loads(m["categories"]),
        authors=json.loads(m["authors"]), send_empty=bool(m["send_empty"]),
        created_at=m["created_at"], updated_at=m["updated_at"], confirmed_at=m["confirmed_at"],
        last_digest_at=m["last_digest_at"], permanent_failures=m["permanent_failures"],
        content=m["content"],
    )


def _interest_values(values: dict) -> dict:
    out = dict(values)
    for key in ("topics", "categories", "authors"):
        if key in out:
            out[key] = json.dumps(list(out[key]), ensure_ascii=False)
    if "status" in out and out["status"] not in STATUSES:
        raise ValueError(f"unknown subscriber status {out['status']!r}")
    if "frequency" in out and out["frequency"] not in FREQUENCIES:
        raise ValueError(f"unknown digest frequency {out['frequency']!r}")
    if "content" in out and out["content"] not in CONTENTS:
        raise ValueError(f"unknown digest content {out['content']!r}: use one of {', '.join(CONTENTS)}")
    return out


def add(conn: Connection, email: str, *, now: dt.datetime, status: str = "pending",
        frequency: str = "daily", topics=(), categories=(), authors=(), send_empty: bool = False,
        content: str = "interests") -> Subscriber:
    """Insert a new address; SubscriberExists when it is already on the list.

    The unique email decides, not a lookup first: of two simultaneous adds of one address,
    one inserts and the other inserts nothing and gets SubscriberExists."""
    values = _interest_values(dict(
        email=email, status=status, frequency=frequency, topics=topics, categories=categories,
        authors=authors, send_empty=send_empty, content=content, created_at=now, updated_at=now,
        confirmed_at=now if status == "active" else None, permanent_failures=0,
    ))
    stmt = (dialect_insert(conn, subscribers).values(**values)
            .on_conflict_do_nothing(index_elements=[subscribers.c.email]).returning(subscribers.c.id))
    try:
        new_id = conn.execute(stmt).scalar()
    except IntegrityError as e:  # a unique violation the ON CONFLICT did not absorb
        if "email" not in str(e.orig):
            raise
        raise SubscriberExists(f"{email} is already subscribed") from e
    if new_id is None:
        raise SubscriberExists(f"{email} is already subscribed")
    return get(conn, new_id)


def get(conn: Connection, subscriber_id: int) -> Subscriber | None:
    row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
    return to_subscriber(row) if row else None


def get_by_email(conn: Connection, email: str) -> Subscriber | None:
    row = conn.execute(select(subscribers).where(subscribers.c.email == email)).first()
    return to_subscriber(row) if row else None


def list_all(conn: Connection, status: str | None = None) -> list[Subscriber]:
    q = select(subscribers).order_by(subscribers.c.id)
    if status:
        q = q.where(subscribers.c.status == status)
    return [to_subscriber(r) for r in conn.execute(q)]


def update_fields(conn: Connection, subscriber_id: int, *, now: dt.datetime, **values) -> Subscriber | None:
    """Change interests, frequency, send_empty or status; unknown values raise ValueError."""
    allowed = {"status", "frequency", "topics", "categories", "authors", "send_empty", "confirmed_at", "content"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"cannot update subscriber fields {sorted(unknown)}")
    values = _interest_values(values)
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(updated_at=now, **values))
    return get(conn, subscriber_id)


def confirm(conn: Connection, subscriber_id: int, now: dt.datetime) -> Subscriber | None:
    """pending -> active; anything else is left as it is (a re-clicked link changes nothing)."""
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.status == "pending")
        .values(status="active", confirmed_at=now, updated_at=now, permanent_failures=0)
    )
    return get(conn, subscriber_id)


def remove(conn: Connection, email: str) -> bool:
    """Forget an address entirely: its row, what it was sent, its feedback and its outbox."""
    sub = get_by_email(conn, email)
    if sub is None:
        return False
    for table in (sent_papers, feedback, outbox):
        conn.execute(delete(table).where(table.c.subscriber_id == sub.id))
    conn.execute(delete(subscribers).where(subscribers.c.id == sub.id))
    return True


def without_digest_on(conn: Connection, digest_date: dt.date) -> list[Subscriber]:
    """Active subscribers with no outbox row for that date (the frequency check is the caller's)."""
    planned = select(outbox.c.subscriber_id).where(outbox.c.digest_date == digest_date,
                                                    outbox.c.subscriber_id == subscribers.c.id)
    q = (select(subscribers)
         .where(subscribers.c.status == "active", ~planned.exists())  # an anti-join (topics.unplaced)
         .order_by(subscribers.c.id))
    return [to_subscriber(r) for r in conn.execute(q)]
