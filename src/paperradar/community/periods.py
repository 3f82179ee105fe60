"""The periods a list covers: a day (2025-03-11), an ISO week (2025-W11) or a month (2025-03).

Parsing is strict: 2025-02-30, 2025-W54 (2025 has 52 ISO weeks) and 2025-13 are errors with a
message saying what was expected, never a guess.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..errors import UserError

KINDS = ("date", "week", "month")
# The calendar ends with 9999: a list of its last week or month would have no next one to link
# to (and a month's end is found through the next month), so periods end a year before.
LAST_YEAR = 9998
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    kind: str  # date, week, month
    start: dt.date
    end: dt.date  # inclusive

    @property
    def slug(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return self.start.isoformat()

    @property
    def path(self) -> str:
        return f"/papers/{self.kind}/{self.slug}"

    @property
    def label(self) -> str:
        if self.kind == "week":
            return f"Week {self.start.isocalendar()[1]}, {self.start:%b %-d} – {self.end:%b %-d, %Y}"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return f"{self.start:%A, %B %-d, %Y}"

    def containing(self, day: dt.date) -> "Period":
        """The period of the same kind that holds `day`."""
        return of(self.kind, day)

    def as_kind(self, kind: str) -> "Period":
        """The day, week or month that holds this period's first day."""
        return of(kind, self.start)


def of(kind: str, day: dt.date) -> Period:
    if kind == "week":
        start = day - dt.timedelta(days=day.weekday())
        return Period("week", start, start + dt.timedelta(days=6))
    if kind == "month":
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return Period("month", start, nxt - dt.timedelta(days=1))
    return Period("date", day, day)


def parse(kind: str, text: str) -> Period:
    """A period from its slug; UserError with the expected form when it is not one."""
    text = (text or "").strip()
    if kind == "date":
        return of("date", parse_day(text))
    if kind == "week":
        m = _WEEK.match(text)
        if not m:
            raise UserError(f"week must look like 2025-W07, not {text[:40]!r}")
        _check_year(int(m[1]), text)
        try:
            return of("week", dt.date.fromisocalendar(int(m[1]), int(m[2]), 1))
        except ValueError:
            raise UserError(f"{text} is not a week: {m[1]} has no ISO week {int(m[2])}") from None
    if kind == "month":
        m = _MONTH.match(text)
        if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 1:
            raise UserError(f"month must look like 2025-03 (months 01-12), not {text[:40]!r}")
        _check_year(int(m[1]), text)
        return of("month", dt.date(int(m[1]), int(m[2]), 1))
    raise UserError(f"unknown period {kind!r}: use one of {', '.join(KINDS)}")


def parse_day(text: str) -> dt.date:
    if not _DAY.match(text):
        raise UserError(f"date must look like 2025-03-11, not {text[:40]!r}")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{text} is not a date on the calendar") from None
    _check_year(day.year, text)
    return day


def _check_year(year: int, text: str) -> None:
    if year > LAST_YEAR:
        raise UserError(f"{text} is too far ahead: lists go up to the end of {LAST_YEAR}")
