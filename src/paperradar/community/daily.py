"""The one data function behind every dated list: the HTML pages, the JSON API, the CLI and
the trending digest all call `view` and render what it returns.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from ..errors import UserError
from ..models import Paper
from ..store import ListingRow, Store
from ..store.listings import MERGE_DEPTH
from . import periods, trending
from .periods import Period

SORTS = ("votes", "trending", "new")
WINDOWS = {"day": 1, "week": 7, "month": 30}


@dataclass
class Entry:
    paper: Paper
    listing: ListingRow
    voted: bool = False
    score: float | None = None  # the trending score, when sorted by trending


@dataclass
class DayView:
    period: Period
    sort: str
    entries: list[Entry]
    page: int
    has_next: bool
    total: int
    prev: Period | None = None  # the nearest period before with papers
    next: Period | None = None
    as_of: dt.datetime | None = None  # the moment trending ages were measured against
    calendar: list[list[tuple[dt.date | None, int]]] = field(default_factory=list)  # weeks of (day, papers)


@dataclass
class Ranking:
    """How trending is scored: the settings' parameters in one place."""

    gravity: float = trending.GRAVITY
    star_weight: float = 0.0

    @classmethod
    def from_settings(cls, settings) -> "Ranking":
        return cls(gravity=settings.trending_gravity, star_weight=settings.trending_star_weight)


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise UserError(f"sort must be one of {', '.join(SORTS)}, not {sort[:40]!r}")
    return sort


def latest_period(store: Store, today: dt.date) -> Period:
    """The latest day with papers (not after today), or today when nothing is listed."""
    return periods.of("date", store.latest_listing_day(not_after=today) or today)


def as_of(store: Store, now: dt.datetime) -> dt.datetime:
    """The moment trending is measured at: now, or the end of the latest listed day when the
    lists stopped earlier (an archive, the demo), so its last days still show what rose."""
    latest = store.latest_listing_day(not_after=now.date())
    if latest is None or latest >= now.date():
        return now
    return dt.datetime.combine(latest, dt.time(23, 59, 59))


def window(store: Store, name: str, now: dt.datetime) -> Period:
    """The trending window ending at `as_of`: the last 1, 7 or 30 days."""
    if name not in WINDOWS:
        raise UserError(f"window must be one of {', '.join(WINDOWS)}, not {name[:40]!r}")
    end = as_of(store, now).date()
    return Period(name if name != "day" else "date", end - dt.timedelta(days=WINDOWS[name] - 1), end)


def view(store: Store, period: Period, *, sort: str, now: dt.datetime, page: int = 1, size: int = 20,
         ranking: Ranking | None = None, account_id: int | None = None, with_calendar: bool = False,
         submitter: str | None = None) -> DayView:
    """One page of a period's list, sorted by votes (points), trending or newest; optionally only
    what one submitter listed."""
    check_sort(sort)
    if page < 1:
        raise UserError("page must be 1 or more")
    offset = (page - 1) * size
    total = store.count_listed(period.start, period.end, submitter)
    moment = as_of(store, now)
    scores: dict[str, float] = {}
    if sort == "trending":
        rows = _trending_page(store, period, moment, ranking or Ranking(), offset, size + 1, scores, submitter)
    else:
        rows = store.listed_between(period.start, period.end, sort=sort, limit=size + 1, offset=offset,
                                    submitter=submitter)
    voted = store.voted(account_id, [p.id for _, p in rows]) if account_id is not None else set()
    entries = [Entry(p, li, p.id in voted, scores.get(p.id)) for li, p in rows[:size]]
    before, after = store.neighbour_days(period.start, period.end)
    out = DayView(period, sort, entries, page, len(rows) > size, total, as_of=moment,
                  prev=period.containing(before) if before else None,
                  next=period.containing(after) if after else None)
    if with_calendar:
        out.calendar = month_grid(store, period.start)
    return out


def _trending_page(store: Store, period: Period, moment: dt.datetime, ranking: Ranking, offset: int, limit: int,
                   scores: dict[str, float], submitter: str | None) -> list[tuple[ListingRow, Paper]]:
    """Scored papers best first, then those with no points, newest first."""
    depth = offset + limit
    if period.start < period.end and submitter is None and depth <= MERGE_DEPTH:
        with store.trending_reader() as fetch:
            ranked = trending.top(store.listing_day_stars(period.start, period.end), fetch, moment, depth,
                                  gravity=ranking.gravity, star_weight=ranking.star_weight)
    else:
        ranked = trending.rank(store.trending_candidates(period.start, period.end, submitter), moment,
                               gravity=ranking.gravity, star_weight=ranking.star_weight)
    scores.update(ranked[offset : offset + limit])
    rows = store.listed_papers([pid for pid, _ in ranked[offset : offset + limit]])
    if len(rows) < limit:
        rest_offset = max(0, offset - len(ranked))
        rows += store.listed_between(period.start, period.end, sort="new", limit=limit - len(rows),
                                     offset=rest_offset, pointless=True, submitter=submitter)
    return rows


def month_grid(store: Store, day: dt.date) -> list[list[tuple[dt.date | None, int]]]:
    """The month of `day` as weeks (Monday first) of (date, papers listed); None pads."""
    first = day.replace(day=1)
    last = periods.of("month", day).end
    counts = store.listing_day_counts(first, last)
    weeks = []
    for week in calendar.Calendar().monthdatescalendar(first.year, first.month):
        weeks.append([(d, counts.get(d, 0)) if d.month == first.month else (None, 0) for d in week])
    return weeks
