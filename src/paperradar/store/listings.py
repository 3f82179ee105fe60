"""Listings: the day each paper entered the daily lists, who put it there, and its vote counts.

One row per paper; the first listing wins (a later re-listing keeps the first day, as Hugging
Face does), while counts that a source reports again (upvotes, comments, stars) are refreshed.
`points` = local `votes` + `imported_upvotes` is kept in the same row, so a day's page is one
indexed range read and trending never counts vote rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, func, or_, select, update

from ..models import Listing
from .db import dialect_insert
from .schema import accounts, listings

SORTS = ("votes", "trending", "new")


@dataclass
class ListingRow:
    paper_id: str
    day: dt.date
    source: str
    listed_at: dt.datetime
    position: int = 0
    submitted_by: int | None = None
    submitter: str | None = None  # a local member's handle, else the upstream submitter's name
    votes: int = 0  # local
    imported_upvotes: int = 0
    num_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    hidden: bool = False

    @property
    def points(self) -> int:
        """What a page shows: local votes plus those counted upstream."""
        return self.votes + self.imported_upvotes


def _row(r) -> ListingRow:
    m = r._mapping
    return ListingRow(
        paper_id=m["paper_id"], day=m["day"], source=m["source"], listed_at=m["listed_at"],
        position=m["position"], submitted_by=m["submitted_by"],
        submitter=m.get("handle") or m["submitter_name"], votes=m["votes"],
        imported_upvotes=m["imported_upvotes"], num_comments=m["num_comments"],
        github_repo=m["github_repo"], github_stars=m["github_stars"], project_page=m["project_page"],
        hidden=bool(m["hidden"]),
    )


def _select():
    return (select(listings, accounts.c.handle)
            .select_from(listings.outerjoin(accounts, accounts.c.id == listings.c.submitted_by)))


def put(conn: Connection, items: list[tuple[str, Listing]], now: dt.datetime) -> int:
    """List papers from a source; returns how many were listed for the first time.

    A paper already listed keeps its day and source; upstream counts only grow (a snapshot
    taken later has seen more votes), and known links are not erased by a record without them.
    """
    if not items:
        return 0
    rows = {}
    for paper_id, li in items:
        rows.setdefault(paper_id, dict(
            paper_id=paper_id, day=li.day, source=li.source, position=li.position,
            listed_at=dt.datetime.combine(li.day, dt.time()) if li.source != "submit" else now,
            submitted_by=None, submitter_name=li.submitter_name, votes=0,
            imported_upvotes=max(0, li.upvotes), points=max(0, li.upvotes), num_comments=li.num_comments,
            github_repo=li.github_repo, github_stars=li.github_stars, project_page=li.project_page,
            hidden=False))
    ids = sorted(rows)
    known = set()
    for i in range(0, len(ids), 500):
        known.update(conn.execute(select(listings.c.paper_id).where(listings.c.paper_id.in_(ids[i : i + 500]))).scalars())
    stmt = dialect_insert(conn, listings)
    new, old = stmt.excluded, listings.c
    grown = case((new.imported_upvotes > old.imported_upvotes, new.imported_upvotes), else_=old.imported_upvotes)
    stmt = stmt.on_conflict_do_update(index_elements=["paper_id"], set_={
        "imported_upvotes": grown,
        "points": old.votes + grown,
        "num_comments": func.coalesce(new.num_comments, old.num_comments),
        "github_repo": func.coalesce(new.github_repo, old.github_repo),
        "github_stars": func.coalesce(new.github_stars, old.github_stars),
        "project_page": func.coalesce(new.project_page, old.project_page),
    })
    conn.execute(stmt, list(rows.values()))
    return len(rows) - len(known)


def submit(conn: Connection, paper_id: str, *, day: dt.date, account_id: int, now: dt.datetime) -> bool:
    """List a paper for a member; False when the paper was listed already (nothing changes)."""
    stmt = dialect_insert(conn, listings).values(
        paper_id=paper_id, day=day, source="submit", listed_at=now, position=0, submitted_by=account_id,
        votes=0, imported_upvotes=0, points=0, hidden=False,
    ).on_conflict_do_nothing(index_elements=["paper_id"]).returning(listings.c.paper_id)
    return conn.execute(stmt).first() is not None


def get(conn: Connection, paper_id: str) -> ListingRow | None:
    r = conn.execute(_select().where(listings.c.paper_id == paper_id)).first()
    return _row(r) if r else None


def get_many(conn: Connection, paper_ids: list[str]) -> dict[str, ListingRow]:
    out = {}
    for i in range(0, len(paper_ids), 500):
        for r in conn.execute(_select().where(listings.c.paper_id.in_(paper_ids[i : i + 500]))):
            out[r.paper_id] = _row(r)
    return out


def _visible(start: dt.date, end: dt.date, submitter: str | None):
    """The conditions of a list: the days [start, end], not hidden, and optionally one submitter
    (a member's handle or an upstream submitter's name)."""
    conds = [listings.c.day >= start, listings.c.day <= end, listings.c.hidden.is_(False)]
    if submitter is not None:
        by_member = select(accounts.c.id).where(accounts.c.handle == submitter).scalar_subquery()
        conds.append(or_(listings.c.submitted_by == by_member, listings.c.submitter_name == submitter))
    return conds


def in_range(conn: Connection, start: dt.date, end: dt.date, *, sort: str, limit: int, offset: int = 0,
             pointless: bool = False, submitter: str | None = None) -> list[ListingRow]:
    """Visible listings of the days [start, end], most points first or newest first;
    `pointless` keeps only those with no points (what follows the trending ones)."""
    order = ([listings.c.listed_at.desc(), listings.c.position] if sort == "new"
             else [listings.c.points.desc(), listings.c.day.desc(), listings.c.position])
    q = _select().where(*_visible(start, end, submitter))
    if pointless:
        q = q.where(listings.c.points <= 0)
    q = q.order_by(*order, listings.c.paper_id).limit(limit).offset(offset)
    return [_row(r) for r in conn.execute(q)]


def count_in_range(conn: Connection, start: dt.date, end: dt.date, submitter: str | None = None) -> int:
    q = select(func.count()).select_from(listings).where(*_visible(start, end, submitter))
    return conn.execute(q).scalar() or 0


def trending_candidates(conn: Connection, start: dt.date, end: dt.date,
                        submitter: str | None = None) -> list[tuple[str, dt.datetime, int, int | None]]:
    """(paper id, listed at, points, GitHub stars) of the window's visible listings that have
    any points: what the trending ranking scores (papers with none rank after, newest first)."""
    q = (select(listings.c.paper_id, listings.c.listed_at, listings.c.points, listings.c.github_stars)
         .where(*_visible(start, end, submitter), listings.c.points > 0))
    return [tuple(r) for r in conn.execute(q)]


def day_counts(conn: Connection, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """{day: visible papers} for the days in [start, end] that have any."""
    q = (select(listings.c.day, func.count()).where(
        listings.c.day >= start, listings.c.day <= end, listings.c.hidden.is_(False)).group_by(listings.c.day))
    return {day: n for day, n in conn.execute(q)}


def neighbour_day(conn: Connection, day: dt.date, *, after: bool) -> dt.date | None:
    """The nearest day before (or after) `day` that has visible papers.

    ORDER BY + LIMIT 1 walks the day index from `day` and stops at the first visible row; a
    MIN/MAX with the `hidden` condition would read every listing on that side."""
    col = listings.c.day
    q = (select(col).where(col > day if after else col < day, listings.c.hidden.is_(False))
         .order_by(col.asc() if after else col.desc()).limit(1))
    return conn.execute(q).scalar()


def latest_day(conn: Connection, not_after: dt.date | None = None) -> dt.date | None:
    q = select(listings.c.day).where(listings.c.hidden.is_(False))
    if not_after is not None:
        q = q.where(listings.c.day <= not_after)
    return conn.execute(q.order_by(listings.c.day.desc()).limit(1)).scalar()


def submitted_on(conn: Connection, account_id: int, day: dt.date) -> int:
    q = select(func.count()).select_from(listings).where(and_(
        listings.c.submitted_by == account_id, listings.c.day == day))
    return conn.execute(q).scalar() or 0


def set_hidden(conn: Connection, paper_id: str, hidden: bool) -> bool:
    return conn.execute(update(listings).where(listings.c.paper_id == paper_id).values(hidden=hidden)).rowcount == 1
