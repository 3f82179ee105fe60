"""The digest outbox: one row per subscriber per digest date, and the papers each was sent.

A row is written once, at planning, together with the papers it reserves (`sent_papers`) and
the subscriber's new `last_digest_at`, in one transaction: a paper can never be picked for a
subscriber twice. Then it moves through the states

    pending -> sending -> sent | temp_failed (-> sending ...) | failed
    empty    (nothing matched and the subscriber did not ask for empty digests; never sent)

Each transition is a compare-and-set on the row's current state, so two senders never both
claim one row.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Connection, and_, case, func, insert, or_, select, update

from .db import dialect_insert
from .schema import outbox, sent_papers, subscribers
from .subscribers import Subscriber, to_subscriber

_CHUNK = 500
STATES = ("pending", "sending", "sent", "temp_failed", "failed", "empty")


@dataclass
class PlannedDigest:
    subscriber_id: int
    digest_date: dt.date
    message_id: str
    items: list[dict]  # [{"id": paper id, "score": float, "reasons": [str, ...]}]
    cutoff: dt.datetime  # becomes the subscriber's last_digest_at
    state: str = "pending"  # or "empty"


@dataclass
class OutboxItem:
    id: int
    subscriber_id: int
    digest_date: dt.date
    state: str
    attempts: int
    message_id: str
    items: list[dict] = field(default_factory=list)
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    created_at: dt.datetime | None = None
    claimed_at: dt.datetime | None = None
    claimed_by: str | None = None
    sent_at: dt.datetime | None = None
    subscriber: Subscriber | None = None  # filled in by `claim`


def _to_item(row) -> OutboxItem:
    m = row._mapping
    return OutboxItem(
        id=m["id"], subscriber_id=m["subscriber_id"], digest_date=m["digest_date"], state=m["state"],
        attempts=m["attempts"], message_id=m["message_id"], items=json.loads(m["items"]),
        next_attempt_at=m["next_attempt_at"], last_error=m["last_error"], created_at=m["created_at"],
        claimed_at=m["claimed_at"], claimed_by=m["claimed_by"], sent_at=m["sent_at"],
    )


def plan(conn: Connection, digests: list[PlannedDigest], now: dt.datetime) -> list[int]:
    """Write the rows that do not exist yet (with their reserved papers); returns the
    subscriber ids whose rows were written.

    The insert skips a (subscriber, date) that already has a row (uq_outbox_subscriber_date
    decides, not a lookup first): when two planners race, the one that commits second writes
    nothing for that subscriber, and neither reserved papers nor `last_digest_at` change."""
    written: list[int] = []
    # Ascending order, so two planners on PostgreSQL wait on each other's rows in the same
    # order and cannot deadlock.
    digests = sorted(digests, key=lambda d: (d.digest_date, d.subscriber_id))
    for i in range(0, len(digests), _CHUNK):
        chunk = digests[i : i + _CHUNK]
        stmt = (dialect_insert(conn, outbox)
                .values([dict(subscriber_id=d.subscriber_id, digest_date=d.digest_date, state=d.state,
                              attempts=0, message_id=d.message_id,
                              items=json.dumps(d.items, ensure_ascii=False), created_at=now, updated_at=now)
                         for d in chunk])
                .on_conflict_do_nothing(index_elements=[outbox.c.subscriber_id, outbox.c.digest_date])
                .returning(outbox.c.subscriber_id, outbox.c.digest_date))
        inserted = {tuple(r) for r in conn.execute(stmt)}
        fresh = []
        for d in chunk:  # a pair given twice was inserted once: only its first copy counts
            if (d.subscriber_id, d.digest_date) in inserted:
                inserted.discard((d.subscriber_id, d.digest_date))
                fresh.append(d)
        if not fresh:
            continue
        reserved = [dict(subscriber_id=d.subscriber_id, paper_id=it["id"], digest_date=d.digest_date)
                    for d in fresh for it in d.items]
        if reserved:
            conn.execute(insert(sent_papers), reserved)
        cutoffs: dict[dt.datetime, list[int]] = {}
        for d in fresh:
            cutoffs.setdefault(d.cutoff, []).append(d.subscriber_id)
        for cutoff, sids in cutoffs.items():
            conn.execute(update(subscribers).where(subscribers.c.id.in_(sids)).values(last_digest_at=cutoff))
        written.extend(d.subscriber_id for d in fresh)
    return written


def sent_pairs(conn: Connection, subscriber_ids: list[int], paper_ids: list[str]) -> set[tuple[int, str]]:
    """Which of these papers each of these subscribers was already given."""
    out: set[tuple[int, str]] = set()
    if not subscriber_ids or not paper_ids:
        return out
    for i in range(0, len(paper_ids), _CHUNK):
        q = select(sent_papers.c.subscriber_id, sent_papers.c.paper_id).where(
            sent_papers.c.paper_id.in_(paper_ids[i : i + _CHUNK]))
        wanted = set(subscriber_ids)
        out.update((s, p) for s, p in conn.execute(q) if s in wanted)
    return out


def get(conn: Connection, item_id: int) -> OutboxItem | None:
    row = conn.execute(select(outbox).where(outbox.c.id == item_id)).first()
    return _to_item(row) if row else None


def for_date(conn: Connection, digest_date: dt.date) -> list[OutboxItem]:
    q = select(outbox).where(outbox.c.digest_date == digest_date).order_by(outbox.c.id)
    return [_to_item(r) for r in conn.execute(q)]


def claim(conn: Connection, *, up_to: dt.date, now: dt.datetime, owner: str, limit: int = 50,
          only_subscriber: int | None = None) -> list[OutboxItem]:
    """Move up to `limit` due rows (pending, or temp_failed whose retry time has come) to
    `sending`, each with its subscriber; rows another sender took meanwhile are skipped."""
    due = or_(outbox.c.state == "pending",
              and_(outbox.c.state == "temp_failed", outbox.c.next_attempt_at <= now))
    q = select(outbox.c.id).where(due, outbox.c.digest_date <= up_to)
    if only_subscriber is not None:
        q = q.where(outbox.c.subscriber_id == only_subscriber)
    ids = list(conn.execute(q.order_by(outbox.c.id).limit(limit)).scalars())
    if not ids:
        return []
    # The `due` condition again: a row claimed by someone else since the select is left alone.
    conn.execute(update(outbox).where(outbox.c.id.in_(ids), due).values(
        state="sending", attempts=outbox.c.attempts + 1, claimed_at=now, claimed_by=owner, updated_at=now))
    rows = conn.execute(
        select(outbox, *[c.label(f"sub_{c.name}") for c in subscribers.c])
        .join(subscribers, subscribers.c.id == outbox.c.subscriber_id, isouter=True)
        .where(outbox.c.id.in_(ids), outbox.c.state == "sending", outbox.c.claimed_by == owner,
               outbox.c.claimed_at == now)
        .order_by(outbox.c.id)).all()
    items = []
    for row in rows:
        item = _to_item(row)
        m = row._mapping
        if m["sub_id"] is not None:
            item.subscriber = to_subscriber({c.name: m[f"sub_{c.name}"] for c in subscribers.c})
        items.append(item)
    return items


def release_stale(conn: Connection, *, now: dt.datetime, lease: dt.timedelta,
                  is_gone: Callable[[str | None], bool]) -> list[OutboxItem]:
    """Rows left in `sending` by a process that is gone (or past the lease) go back to pending.

    Whether the server took such a message is unknowable; it is resent with the same
    Message-ID (see digest/send.py for the policy). Returns the rows released.
    """
    released = []
    for row in conn.execute(select(outbox).where(outbox.c.state == "sending")).all():
        if row.claimed_at is not None and row.claimed_at > now - lease and not is_gone(row.claimed_by):
            continue
        note = (f"interrupted while sending: claimed by {row.claimed_by} at {row.claimed_at}, no result "
                "recorded; sent again with the same Message-ID")
        n = conn.execute(update(outbox).where(outbox.c.id == row.id, outbox.c.state == "sending",
                                              outbox.c.attempts == row.attempts)
                         .values(state="pending", last_error=note, updated_at=now)).rowcount
        if n == 1:
            released.append(get(conn, row.id))
    return released


def release(conn: Connection, item_ids: list[int], now: dt.datetime, *, note: str | None = None) -> None:
    """Claimed rows that were not attempted, or whose attempt failed for a reason that is not
    the recipient's (the mail server unreachable), go back to what they were, their attempt
    undone; `note` becomes their `last_error`."""
    values = dict(state=case((outbox.c.next_attempt_at.is_(None), "pending"), else_="temp_failed"),
                  attempts=outbox.c.attempts - 1, updated_at=now)
    if note is not None:
        values["last_error"] = note
    for i in range(0, len(item_ids), _CHUNK):
        conn.execute(update(outbox).where(outbox.c.id.in_(item_ids[i : i + _CHUNK]), outbox.c.state == "sending")
                     .values(**values))


def mark_sent(conn: Connection, item_id: int, now: dt.datetime, *, subscriber_id: int | None = None) -> None:
    """Sent. With `subscriber_id`, that subscriber's run of permanent failures ends too."""
    conn.execute(update(outbox).where(outbox.c.id == item_id)
                 .values(state="sent", sent_at=now, updated_at=now, next_attempt_at=None))
    if subscriber_id is not None:
        conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(permanent_failures=0))


def mark_retry(conn: Connection, item_id: int, error: str, next_attempt_at: dt.datetime, now: dt.datetime) -> None:
    conn.execute(update(outbox).where(outbox.c.id == item_id)
                 .values(state="temp_failed", last_error=error, next_attempt_at=next_attempt_at, updated_at=now))


def mark_failed(conn: Connection, item_id: int, error: str, now: dt.datetime, *,
                permanent: bool, suppress_after: int) -> bool:
    """The row is given up. A permanent (5xx) failure counts against the address, and after
    `suppress_after` of them in a row it is suppressed. Returns True when it was suppressed now.

    Only a row still `sending` changes: a sender that writes this again (its first commit went
    through but the answer was lost with the connection) does not count the failure twice."""
    changed = conn.execute(update(outbox).where(outbox.c.id == item_id, outbox.c.state == "sending")
                           .values(state="failed", last_error=error, next_attempt_at=None, updated_at=now)).rowcount
    if not permanent or changed != 1:
        return False
    sid = conn.execute(select(outbox.c.subscriber_id).where(outbox.c.id == item_id)).scalar()
    conn.execute(update(subscribers).where(subscribers.c.id == sid)
                 .values(permanent_failures=subscribers.c.permanent_failures + 1, updated_at=now))
    failures = conn.execute(select(subscribers.c.permanent_failures).where(subscribers.c.id == sid)).scalar()
    if failures is not None and failures >= suppress_after:
        conn.execute(update(subscribers).where(subscribers.c.id == sid, subscribers.c.status == "active")
                     .values(status="suppressed", updated_at=now))
        return True
    return False


def counts(conn: Connection, digest_date: dt.date | None = None) -> dict[str, int]:
    q = select(outbox.c.state, func.count()).group_by(outbox.c.state)
    if digest_date is not None:
        q = q.where(outbox.c.digest_date == digest_date)
    return {state: n for state, n in conn.execute(q)}


def next_retry_at(conn: Connection, up_to: dt.date) -> dt.datetime | None:
    q = select(func.min(outbox.c.next_attempt_at)).where(outbox.c.state == "temp_failed",
                                                         outbox.c.digest_date <= up_to)
    return conn.execute(q).scalar()
