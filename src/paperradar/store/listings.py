"""Listings: the day each paper entered the daily lists, who put it there, and its vote counts.

One row per paper; the first listing wins (a later re-listing keeps the first day, as Hugging
Face does), while counts that a source reports again (upvotes, comments, stars) are refreshed.
`points` = local `votes` + `imported_upvotes` is kept in the same row, so a day's page is one
indexed range read and trending never counts vote rows.

Every transaction that changes what a list shows (a listing, a vote, a hidden paper, a member's
handle) also moves the lists' version (`bump_version`), so a web process can keep what it
derived from the lists until that version moves (`version_sql`, web/page_cache.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import Connection, Dialect, Integer, String, and_, bindparam, case, cast, func, or_, select, type_coerce, update

from ..models import Listing
from .db import dialect_insert
from .schema import accounts, listing_days, listings, meta, papers

VERSION_KEY = "lists_version"
# Built once: SQLAlchemy's compiled cache then serves every call (a page reads it per request).
_VERSION = select(select(meta.c.value).where(meta.c.key == VERSION_KEY).scalar_subquery(),
                  select(func.max(papers.c.seq)).scalar_subquery())


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


def bump_version(conn: Connection) -> None:
    """Move the lists' version on, in the caller's transaction: its change is visible together
    with the new version. The last statement of a transaction, so the row it locks (on
    PostgreSQL, concurrent writers of lists queue on it) is held only until the commit."""
    stmt = dialect_insert(conn, meta).values(key=VERSION_KEY, value="1")
    conn.execute(stmt.on_conflict_do_update(index_elements=[meta.c.key],
                                            set_={"value": cast(cast(meta.c.value, Integer) + 1, String)}))


@functools.lru_cache(maxsize=8)
def version_sql(dialect: Dialect) -> str:
    """The read of (the lists' version, the change feed's newest position), as the driver's own
    SQL (it has no parameters): when neither moved, no list, paper or vote changed; both only
    grow. One indexed read (Store.lists_version)."""
    return str(_VERSION.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def put(conn: Connection, items: list[tuple[str, Listing]], now: dt.datetime) -> None:
    """List papers from a source.

    A paper already listed keeps its day and source; upstream counts only grow (a snapshot
    taken later has seen more votes), and known links are not erased by a record without them.
    """
    if not items:
        return
    rows = {}
    for paper_id, li in items:
        rows.setdefault(paper_id, dict(
            paper_id=paper_id, day=li.day, source=li.source, position=li.position,
            listed_at=dt.datetime.combine(li.day, dt.time()) if li.source != "submit" else now,
            submitted_by=None, submitter_name=li.submitter_name, votes=0,
            imported_upvotes=max(0, li.upvotes), points=max(0, li.upvotes), num_comments=li.num_comments,
            github_repo=li.github_repo, github_stars=li.github_stars, project_page=li.project_page,
            hidden=False))
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
    days = sorted({r["day"] for r in rows.values()})
    _lock_days(conn, days)
    conn.execute(stmt, list(rows.values()))
    _recount_days(conn, days)
    bump_version(conn)


def _lock_days(conn: Connection, days: list[dt.date]) -> None:
    """Take the `listing_days` rows of these days (created if missing), in day order.

    A writer that changes a day's listings holds its row until commit, so a second writer of
    that day waits and then counts what the first committed (PostgreSQL gives each statement a
    fresh snapshot; SQLite has one writer at a time anyway)."""
    for day in days:
        stmt = dialect_insert(conn, listing_days).values(day=day, papers=0)
        conn.execute(stmt.on_conflict_do_update(index_elements=["day"], set_={"papers": listing_days.c.papers}))


def _recount_days(conn: Connection, days: list[dt.date]) -> None:
    """Set each day's count (and most stars) of visible listings from the listings themselves
    (index-only reads), so they are exact whatever the writes were."""
    visible = (listings.c.day == listing_days.c.day, listings.c.hidden.is_(False))
    counted = select(func.count()).select_from(listings).where(*visible).scalar_subquery()
    stars = select(func.max(listings.c.github_stars)).where(*visible).scalar_subquery()
    for i in range(0, len(days), 500):
        conn.execute(update(listing_days).where(listing_days.c.day.in_(days[i : i + 500]))
                     .values(papers=counted, max_stars=stars))


def submit(conn: Connection, paper_id: str, *, day: dt.date, account_id: int, now: dt.datetime) -> bool:
    """List a paper for a member; False when the paper was listed already (nothing changes)."""
    stmt = dialect_insert(conn, listings).values(
        paper_id=paper_id, day=day, source="submit", listed_at=now, position=0, submitted_by=account_id,
        votes=0, imported_upvotes=0, points=0, hidden=False,
    ).on_conflict_do_nothing(index_elements=["paper_id"]).returning(listings.c.paper_id)
    _lock_days(conn, [day])
    listed = conn.execute(stmt).first() is not None
    if listed:
        _recount_days(conn, [day])
        bump_version(conn)
    return listed


# Built once, with the ids as a parameter: a statement built per call cost SQLAlchemy a third
# of the call (0.5 against 0.3 ms for a page of 20 listings).
_GET = _select().where(listings.c.paper_id == bindparam("id"))
_GET_MANY = _select().where(listings.c.paper_id.in_(bindparam("ids", expanding=True)))


def get(conn: Connection, paper_id: str) -> ListingRow | None:
    r = conn.execute(_GET, {"id": paper_id}).first()
    return _row(r) if r else None


def get_many(conn: Connection, paper_ids: list[str]) -> dict[str, ListingRow]:
    out = {}
    for i in range(0, len(paper_ids), 500):
        for r in conn.execute(_GET_MANY, {"ids": paper_ids[i : i + 500]}):
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
    if sort == "votes" and start < end and not pointless and submitter is None and offset + limit <= MERGE_DEPTH:
        return _top_across_days(conn, start, end, limit, offset)
    order = ([listings.c.listed_at.desc(), listings.c.position] if sort == "new"
             else [listings.c.points.desc(), listings.c.day.desc(), listings.c.position])
    q = _select().where(*_visible(start, end, submitter))
    if pointless:
        q = q.where(listings.c.points <= 0)
    q = q.order_by(*order, listings.c.paper_id).limit(limit).offset(offset)
    return [_row(r) for r in conn.execute(q)]


MERGE_DEPTH = 1000


def _top_across_days(conn: Connection, start: dt.date, end: dt.date, limit: int, offset: int) -> list[ListingRow]:
    """Most points first over several days, as `in_range` orders them, from each day's own top
    (offset + limit) rows: short index-only reads of `ix_listings_day_rank` merged here, where a
    single query would sort a month's listings (60,000 at 2,000 a day) to return twenty."""
    depth = offset + limit
    top = []
    for day in day_counts(conn, start, end):
        rows = _per_day(conn, "points, position, paper_id", day, "points DESC, position, paper_id", depth, 0)
        top.extend((-points, -day.toordinal(), position, pid) for points, position, pid in rows)
    ids = [pid for *_, pid in sorted(top)[offset:depth]]
    found = get_many(conn, ids)
    return [found[pid] for pid in ids if pid in found]


def _per_day(conn: Connection, columns: str, day: dt.date, order: str, limit: int | None, min_points: int) -> list:
    """Visible listings of one day with at least `min_points`: `columns` in `order`, from the
    covering index. On SQLite the statement is spelled out and handed to the driver: a month
    page runs thirty of these, and SQLAlchemy's own per-statement work was 15 of its 16 ms.
    Identifiers are this module's constants; values are parameters, as ever."""
    if conn.dialect.name == "sqlite":
        sql = (f"SELECT {columns} FROM listings WHERE day = ? AND hidden = 0 AND points >= ? ORDER BY {order}"
               + (" LIMIT ?" if limit else ""))
        params = (day.isoformat(), min_points) + ((limit,) if limit else ())
        return conn.exec_driver_sql(sql, params).all()
    q = (select(*(listings.c[name] for name in columns.split(", ")))
         .where(listings.c.day == day, listings.c.hidden.is_(False), listings.c.points >= min_points)
         .order_by(*(_order(o) for o in order.split(", "))))
    return conn.execute(q.limit(limit) if limit else q).all()


def _order(term: str):
    name, _, direction = term.partition(" ")
    return listings.c[name].desc() if direction == "DESC" else listings.c[name]


def count_in_range(conn: Connection, start: dt.date, end: dt.date, submitter: str | None = None) -> int:
    if submitter is None:  # a row per day rather than a count of the listings
        q = select(func.sum(listing_days.c.papers)).where(listing_days.c.day >= start, listing_days.c.day <= end)
    else:
        q = select(func.count()).select_from(listings).where(*_visible(start, end, submitter))
    return int(conn.execute(q).scalar() or 0)


def trending_candidates(conn: Connection, start: dt.date, end: dt.date,
                        submitter: str | None = None) -> list[tuple[str, dt.datetime, int, int | None]]:
    """(paper id, listed at, points, GitHub stars) of the window's visible listings that have
    any points: what the trending ranking scores (papers with none rank after, newest first)."""
    # listed_at as the database gives it (SQLite: ISO text): the ranking parses a column at once
    # rather than SQLAlchemy a datetime per row
    q = (select(listings.c.paper_id, type_coerce(listings.c.listed_at, String), listings.c.points, listings.c.github_stars)
         .where(*_visible(start, end, submitter), listings.c.points > 0))
    return conn.execute(q).all()


def trending_day(conn: Connection, day: dt.date, *, top: int | None = None, at_least: int = 1) -> list[tuple]:
    """One day's trending inputs (paper id, listed at, points, stars), most points first: its
    `top` rows, or every row with at least `at_least` points. Index-only reads; `listed_at` as
    the database gives it (SQLite: ISO text), which the ranking parses a column at a time."""
    return _per_day(conn, "paper_id, listed_at, points, github_stars", day, "points DESC", top, max(1, at_least))


def day_stats(conn: Connection, start: dt.date, end: dt.date) -> dict[dt.date, int | None]:
    """{day: most GitHub stars of a visible listing} for the days in [start, end] with papers."""
    q = (select(listing_days.c.day, listing_days.c.max_stars)
         .where(listing_days.c.day >= start, listing_days.c.day <= end, listing_days.c.papers > 0))
    return {day: stars for day, stars in conn.execute(q)}


def day_counts(conn: Connection, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """{day: visible papers} for the days in [start, end] that have any."""
    q = (select(listing_days.c.day, listing_days.c.papers)
         .where(listing_days.c.day >= start, listing_days.c.day <= end, listing_days.c.papers > 0))
    return {day: n for day, n in conn.execute(q)}


def neighbour_day(conn: Connection, day: dt.date, *, after: bool) -> dt.date | None:
    """The nearest day before (or after) `day` that has visible papers."""
    col = listing_days.c.day
    q = (select(col).where(col > day if after else col < day, listing_days.c.papers > 0)
         .order_by(col.asc() if after else col.desc()).limit(1))
    return conn.execute(q).scalar()


def latest_day(conn: Connection, not_after: dt.date | None = None) -> dt.date | None:
    q = select(listing_days.c.day).where(listing_days.c.papers > 0)
    if not_after is not None:
        q = q.where(listing_days.c.day <= not_after)
    return conn.execute(q.order_by(listing_days.c.day.desc()).limit(1)).scalar()


def submitted_on(conn: Connection, account_id: int, day: dt.date) -> int:
    q = select(func.count()).select_from(listings).where(and_(
        listings.c.submitted_by == account_id, listings.c.day == day))
    return conn.execute(q).scalar() or 0


def set_hidden(conn: Connection, paper_id: str, hidden: bool) -> bool:
    """Hide a listing from every list (or show it again); False when the paper is not listed."""
    day = conn.execute(select(listings.c.day).where(listings.c.paper_id == paper_id)).scalar()
    if day is None:
        return False
    _lock_days(conn, [day])
    conn.execute(update(listings).where(listings.c.paper_id == paper_id).values(hidden=hidden))
    _recount_days(conn, [day])
    bump_version(conn)
    return True
