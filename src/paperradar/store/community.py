"""The store's community methods (listings, votes, accounts, sessions), mixed into `Store`.

Each is one transaction over the entity modules beside it; `Store` stays the one boundary.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy.exc import IntegrityError

from ..models import Paper
from . import accounts, listings, papers, sessions, votes
from .accounts import Account, HandleTaken
from .listings import ListingRow


class CommunityStore:
    # listings
    def submit_listing(self, paper_id: str, *, day: dt.date, account_id: int, now: dt.datetime | None = None) -> bool:
        with self.tx() as conn:
            return listings.submit(conn, paper_id, day=day, account_id=account_id, now=now or papers.now())

    def get_listing(self, paper_id: str) -> ListingRow | None:
        with self.engine.connect() as conn:
            return listings.get(conn, paper_id)

    def get_listings(self, paper_ids: list[str]) -> dict[str, ListingRow]:
        with self.engine.connect() as conn:
            return listings.get_many(conn, paper_ids)

    def listed_between(self, start: dt.date, end: dt.date, *, sort: str = "votes", limit: int = 20,
                       offset: int = 0, pointless: bool = False, submitter: str | None = None) -> list[tuple[ListingRow, Paper]]:
        """A page of the days [start, end] with the papers, in one read transaction."""
        with self.engine.connect() as conn:
            rows = listings.in_range(conn, start, end, sort=sort, limit=limit, offset=offset, pointless=pointless,
                                     submitter=submitter)
            found = papers.get_many(conn, [r.paper_id for r in rows])
        return [(r, found[r.paper_id]) for r in rows if r.paper_id in found]

    def listed_papers(self, paper_ids: list[str]) -> list[tuple[ListingRow, Paper]]:
        """The listings and papers of these ids, in the given order (missing ones left out)."""
        with self.engine.connect() as conn:
            rows = listings.get_many(conn, paper_ids)
            found = papers.get_many(conn, paper_ids)
        return [(rows[i], found[i]) for i in paper_ids if i in rows and i in found]

    def count_listed(self, start: dt.date, end: dt.date, submitter: str | None = None) -> int:
        with self.engine.connect() as conn:
            return listings.count_in_range(conn, start, end, submitter)

    def trending_candidates(self, start: dt.date, end: dt.date, submitter: str | None = None):
        with self.engine.connect() as conn:
            return listings.trending_candidates(conn, start, end, submitter)

    @contextmanager
    def trending_reader(self) -> Iterator[Callable[[dt.date, int | None, int], list[tuple]]]:
        """`fetch(day, top, at_least)` for `trending.top`, all its reads on one connection."""
        with self.engine.connect() as conn:
            yield lambda day, top, at_least: listings.trending_day(conn, day, top=top, at_least=at_least)

    def listing_day_stars(self, start: dt.date, end: dt.date) -> dict[dt.date, int | None]:
        with self.engine.connect() as conn:
            return listings.day_stats(conn, start, end)

    def listing_day_counts(self, start: dt.date, end: dt.date) -> dict[dt.date, int]:
        with self.engine.connect() as conn:
            return listings.day_counts(conn, start, end)

    def neighbour_days(self, start: dt.date, end: dt.date) -> tuple[dt.date | None, dt.date | None]:
        """The nearest days with papers before `start` and after `end`."""
        with self.engine.connect() as conn:
            return listings.neighbour_day(conn, start, after=False), listings.neighbour_day(conn, end, after=True)

    def lists_version(self) -> tuple[int, int]:
        """What changes whenever a list, a paper or a vote does (listings.version_sql). Nearly every
        page asks, so it is read with the driver's own cursor: SQLAlchemy's connection,
        transaction and result handling took ~100 us of CPU around this ~15 us read."""
        raw = self.engine.raw_connection()  # from the pool, returned to it (rolled back) by close()
        try:
            cur = raw.cursor()
            cur.execute(listings.version_sql(self.engine.dialect))
            lists, seq = cur.fetchone()
            cur.close()
        finally:
            raw.close()
        return int(lists or 0), seq or 0

    def latest_listing_day(self, not_after: dt.date | None = None) -> dt.date | None:
        with self.engine.connect() as conn:
            return listings.latest_day(conn, not_after)

    def submitted_on(self, account_id: int, day: dt.date) -> int:
        with self.engine.connect() as conn:
            return listings.submitted_on(conn, account_id, day)

    def hide_listing(self, paper_id: str, hidden: bool = True) -> bool:
        with self.tx() as conn:
            return listings.set_hidden(conn, paper_id, hidden)

    # votes
    def set_vote(self, account_id: int, paper_id: str, up: bool, now: dt.datetime | None = None) -> bool:
        with self.tx() as conn:
            return votes.set_vote(conn, account_id, paper_id, up, now or papers.now())

    def voted(self, account_id: int, paper_ids: list[str]) -> set[str]:
        with self.engine.connect() as conn:
            return votes.voted(conn, account_id, paper_ids)

    def remove_votes(self, account_id: int) -> int:
        with self.tx() as conn:
            return votes.remove_all(conn, account_id)

    # accounts
    def ensure_account(self, email: str, *, role: str = "member", now: dt.datetime | None = None) -> tuple[Account, bool]:
        with self.tx() as conn:
            return accounts.ensure(conn, email, now=now or papers.now(), role=role)

    def get_account(self, account_id: int) -> Account | None:
        with self.engine.connect() as conn:
            return accounts.get(conn, account_id)

    def get_account_by_email(self, email: str) -> Account | None:
        with self.engine.connect() as conn:
            return accounts.get_by_email(conn, email)

    def list_accounts(self) -> list[Account]:
        with self.engine.connect() as conn:
            return accounts.list_all(conn)

    def use_login(self, account_id: int, nonce: str, now: dt.datetime | None = None) -> bool:
        with self.tx() as conn:
            return accounts.use_login(conn, account_id, nonce, now or papers.now())

    def set_handle(self, account_id: int, handle: str) -> None:
        """Raises HandleTaken when another member has it (the unique constraint decides)."""
        try:
            with self.tx() as conn:
                accounts.set_handle(conn, account_id, handle)
                listings.bump_version(conn)  # lists show submitters' handles
        except IntegrityError:
            raise HandleTaken(f"the handle {handle!r} is taken; choose another") from None

    def update_account(self, account_id: int, **values) -> None:
        with self.tx() as conn:
            accounts.set_fields(conn, account_id, **values)
            if values.get("status") == "banned":
                sessions.end_all(conn, account_id)

    def remove_account(self, account_id: int) -> int:
        """Forget a member and their votes; returns how many votes went."""
        with self.tx() as conn:
            n = votes.remove_all(conn, account_id)
            sessions.end_all(conn, account_id)
            accounts.remove(conn, account_id)
            listings.bump_version(conn)  # their submissions lose their handle
            return n

    # sessions
    def create_session(self, account_id: int, ttl: dt.timedelta, now: dt.datetime | None = None) -> str:
        with self.tx() as conn:
            return sessions.create(conn, account_id, now=now or papers.now(), ttl=ttl)

    def session_account(self, token: str, now: dt.datetime | None = None) -> Account | None:
        with self.engine.connect() as conn:
            return sessions.account(conn, token, now or papers.now())

    def end_session(self, token: str) -> None:
        with self.tx() as conn:
            sessions.end(conn, token)
