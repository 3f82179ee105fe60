"""Votes: one per member per paper. Each change moves the listing's counts in the same
transaction, and the unique constraint `uq_vote` (not a prior lookup) decides a race, so
concurrent votes leave exact counts on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, delete, func, select, update

from .db import dialect_insert
from .listings import bump_version
from .schema import listings, votes


def set_vote(conn: Connection, account_id: int, paper_id: str, up: bool, now: dt.datetime) -> bool:
    """Vote (up=True) or take the vote back; True when something changed. Idempotent."""
    if up:
        stmt = dialect_insert(conn, votes).values(account_id=account_id, paper_id=paper_id, created_at=now)
        stmt = stmt.on_conflict_do_nothing(index_elements=["account_id", "paper_id"]).returning(votes.c.paper_id)
        changed = conn.execute(stmt).first() is not None  # RETURNING: psycopg's rowcount here is -1
    else:
        changed = conn.execute(delete(votes).where(votes.c.account_id == account_id,
                                                   votes.c.paper_id == paper_id)).rowcount == 1
    if changed:
        step = 1 if up else -1
        conn.execute(update(listings).where(listings.c.paper_id == paper_id)
                     .values(votes=listings.c.votes + step, points=listings.c.points + step))
        bump_version(conn)  # pages that show this count are derived again
    return changed


def voted(conn: Connection, account_id: int, paper_ids: list[str]) -> set[str]:
    """Which of these papers the member has voted for."""
    out: set[str] = set()
    for i in range(0, len(paper_ids), 500):
        out.update(conn.execute(_VOTED, {"account": account_id, "ids": paper_ids[i : i + 500]}).scalars())
    return out


# Built once (SQLAlchemy's compiled cache then serves each call): read on every member's page.
_VOTED = select(votes.c.paper_id).where(votes.c.account_id == bindparam("account"),
                                        votes.c.paper_id.in_(bindparam("ids", expanding=True)))


def remove_all(conn: Connection, account_id: int) -> int:
    """Delete every vote of a member (a spammer's) and recount the papers they touched."""
    papers = list(conn.execute(select(votes.c.paper_id).where(votes.c.account_id == account_id)).scalars())
    conn.execute(delete(votes).where(votes.c.account_id == account_id))
    for i in range(0, len(papers), 500):
        recount(conn, papers[i : i + 500])
    return len(papers)


def recount(conn: Connection, paper_ids: list[str]) -> None:
    """Set the listings' local counts from the vote rows."""
    counted = (select(func.count()).select_from(votes).where(votes.c.paper_id == listings.c.paper_id)
               .scalar_subquery())
    conn.execute(update(listings).where(listings.c.paper_id.in_(paper_ids))
                 .values(votes=counted, points=counted + listings.c.imported_upvotes))
    bump_version(conn)
