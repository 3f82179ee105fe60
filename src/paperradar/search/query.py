"""Parse what a person types into a structured query. Any string is accepted.

Syntax: words; "quoted phrases"; `-word` / `-"phrase"` to exclude; filters `author:NAME`
(or `author:"First Last"`), `cat:cs.LG`, `from:YYYY[-MM[-DD]]`, `to:YYYY[-MM[-DD]]`. Everything
else, including AND, NEAR(, `*` and stray quotes, is plain text. The only error is a filter
value that cannot mean anything (a bad date), which the caller turns into a 400.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from . import analyze

MAX_QUERY_CHARS = 2000  # longer input is cut here: no one types more, and it bounds the work
MAX_TERMS = 64

_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')
TOKEN = _TOKEN  # one part of a query: [-][name:]("phrase"|word); suggest.py rewrites queries with it
FILTERS = {"author": "author", "au": "author", "cat": "cat", "category": "cat", "from": "from",
           "since": "from", "to": "to", "until": "to"}


class QueryError(ValueError):
    """The query cannot be understood; the message says which part and why."""


@dataclass
class Query:
    raw: str
    terms: list[str] = field(default_factory=list)  # folded words, in order, stopwords kept
    phrases: list[list[str]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)  # each a word or a phrase
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def text(self) -> str:
        """The free text of the query (words and phrases), for embedding and highlighting."""
        return " ".join(self.terms + [" ".join(p) for p in self.phrases])

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases)

    @property
    def has_filters(self) -> bool:
        return bool(self.authors or self.categories or self.date_from or self.date_to)

    @property
    def is_empty(self) -> bool:
        return not (self.has_text or self.has_filters)


def _date(value: str, name: str, end: bool) -> dt.date:
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value)
    try:
        if not m:
            raise ValueError
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        if month is None:
            return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        if day is None:
            last = calendar.monthrange(year, int(month))[1]
            return dt.date(year, int(month), last if end else 1)
        return dt.date(year, int(month), int(day))
    except ValueError:
        raise QueryError(f"{name}: expects a date YYYY-MM-DD (or YYYY-MM, YYYY), got {value!r}") from None


def parse(raw: str) -> Query:
    q = Query(raw=raw)
    text = (raw or "")[:MAX_QUERY_CHARS]
    for m in _TOKEN.finditer(text):
        neg, name, quoted, bare = m.group(1), m.group(2), m.group(3), m.group(4)
        value = quoted if quoted is not None else bare
        kind = FILTERS.get(name.lower()) if name else None
        if name and kind is None:  # "re:thinking" is text, not an unknown filter
            value = f"{name} {value}"
        if kind == "author" and value.strip():
            q.authors.append(value.strip())
        elif kind == "cat" and value.strip():
            q.categories.append(value.strip())
        elif kind == "from":
            q.date_from = _date(value, "from", end=False)
        elif kind == "to":
            q.date_to = _date(value, "to", end=True)
        elif kind is None:
            ws = analyze.words(value)
            if not ws:
                continue
            if neg:
                q.excluded.append(ws)
            elif quoted is not None and len(ws) > 1:
                q.phrases.append(ws)
            else:
                q.terms.extend(ws)
    if q.date_from and q.date_to and q.date_from > q.date_to:
        raise QueryError(f"from: {q.date_from} is after to: {q.date_to}")
    q.terms = q.terms[:MAX_TERMS]
    q.phrases = q.phrases[:MAX_TERMS]
    return q
