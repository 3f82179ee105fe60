"""Listing pages: the text of a paper site's list view (titles and abstracts).

The format, as seen in the demo corpus: site boilerplate lines ("Get trending papers in your
email inbox!", "Subscribe", ...), an optional date label such as "Mar 11", then one line per
title followed by one line per abstract, with or without blank lines between. The first title
may be glued to "Subscribe". Titles are short single sentences; abstracts are long.

Bounds (`limits.py`): a file of at most 32 MiB, a line of at most 100 KiB; a record over a
bound is skipped with a warning. A file that does not end with a newline may have been cut
short (`head -c`, an interrupted save): its last abstract, if it is the file's last line and
does not end a sentence, is marked `partial` and warned about; it can add a paper but never
replace a stored abstract. (Saved pages, the demo's included, often lack the final newline,
and 94% of the demo's abstracts end with a full stop, bracket or quote; the rest mostly with a
URL. The store never replaces a text by a prefix of it, which covers a cut after a full stop.)

A date label makes the page a daily list: its papers get `Listing(day, "pages", rank)`. A label
without a year ("Mar 11") is the most recent such day not after a reference date: for a file,
its modification date (the day it was saved), never after today. A page without a date label
gives papers without a listing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import limits
from ..models import Listing, Paper, Sighting
from ..normalize import normalize_paper
from .errors import SourceError

SOURCE = "pages"
BOILERPLATE = {
    "new",
    "subscribe",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "byak and the research community",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* (\d{1,2})(?:, (\d{4}))?$")
_SENTENCE_END = re.compile(r"[.!?](\s|$)")
_FINISHED = tuple(".!?)]}\"'”’»")  # how a complete abstract ends (URLs aside)
MAX_TITLE = 300


@dataclass
class PageResult:
    papers: list[Paper] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _looks_like_abstract(line: str | int) -> bool:
    """Abstracts are long or hold several sentences; titles are neither. (An int stands for a line
    over the length bound: only an abstract is that long.)"""
    return isinstance(line, int) or len(line) > MAX_TITLE or len(_SENTENCE_END.findall(line)) >= 2


def _decode(data: bytes, name: str, warnings: list[str]) -> list[str | int]:
    """The lines as text; a line over `limits.PAGE_LINE` bytes becomes its length instead."""
    if b"\x00" in data[:4096] or _binary_ratio(data[:4096]) > 0.1:
        raise SourceError(name, None, "binary data, not a listing page")
    if len(data) > limits.PAGE_FILE:
        raise _too_big(name, len(data))
    lines: list[str | int] = []
    for n, raw in enumerate(data.splitlines(), 1):
        if len(raw) > limits.PAGE_LINE:
            lines.append(len(raw))  # never decoded: it is skipped, with its record
            continue
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1252", errors="replace"))
            warnings.append(f"{name}:{n}: not valid UTF-8, decoded as Windows-1252")
    if lines and isinstance(lines[0], str) and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return lines


def _binary_ratio(chunk: bytes) -> float:
    if not chunk:
        return 0.0
    control = sum(1 for b in chunk if b < 32 and b not in (9, 10, 13))
    return control / len(chunk)


def resolve_day(label: str, reference: dt.date) -> dt.date | None:
    """The day a date label names: "Mar 11, 2024" as written; "Mar 11" the most recent Mar 11
    not after `reference` (Feb 29: the latest leap year's). None when it names no day."""
    m = _DATE.match(label)
    if m is None:
        return None
    month, day = MONTHS.index(m.group(1)) + 1, int(m.group(2))
    if m.group(3):
        try:
            return dt.date(int(m.group(3)), month, day)
        except ValueError:
            return None
    # Eight years back always reach a leap year (1900 and 2100 skip one; 4 + 4 covers it).
    for year in range(reference.year, reference.year - 9, -1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:  # Feb 29 in a common year, or Feb 30 in any
            continue
        if candidate <= reference:
            return candidate
    return None


def parse_page(data: bytes, name: str, today: dt.date | None = None) -> PageResult:
    """Parse one listing page. Raises SourceError for binary input; warns for skipped records.

    `today` is the reference for a date label without a year (default: today's date)."""
    result = PageResult()
    listed, day = "", None
    content: list[tuple[int, str | int]] = []
    lines = _decode(data, name, result.warnings)
    for n, line in enumerate(lines, 1):
        if isinstance(line, int):
            content.append((n, line))
            continue
        text = " ".join(line.split())
        if text[:9].lower() == "subscribe" and text.lower() not in BOILERPLATE:
            text = text[9:].strip()  # the first title glued to the Subscribe button
        if not text or text.lower() in BOILERPLATE:
            continue
        if _DATE.match(text):
            if not listed:
                listed, day = text, resolve_day(text, today or dt.date.today())
                if day is None:
                    result.warnings.append(f"{name}:{n}: {text!r} is not a day, papers not listed by day")
            continue
        content.append((n, text))

    i, last_abstract = 0, 0
    while i < len(content):
        n, title = content[i]
        nxt = content[i + 1] if i + 1 < len(content) else None
        if isinstance(title, int):
            result.warnings.append(f"{name}:{n}: {_over(title)}, skipped")
            i += 1
            continue
        if _looks_like_abstract(title):
            result.warnings.append(f"{name}:{n}: abstract with no title before it, skipped")
            i += 1
            continue
        if nxt is None or not _looks_like_abstract(nxt[1]):
            result.warnings.append(f"{name}:{n}: title with no abstract, skipped: {title[:60]!r}")
            i += 1
            continue
        i += 2
        if isinstance(nxt[1], int):
            result.warnings.append(f"{name}:{nxt[0]}: {_over(nxt[1])}, record skipped: {title[:60]!r}")
            continue
        position = len(result.papers) + 1
        try:
            paper = normalize_paper(Paper(
                title=title, abstract=nxt[1], sightings=[Sighting(SOURCE, name, position, listed)],
                listing=Listing(day, SOURCE, position) if day else None,
            ))
        except limits.TooLarge as exc:
            result.warnings.append(f"{name}:{nxt[0]}: {exc.message}, record skipped: {title[:60]!r}")
            continue
        result.papers.append(paper)
        last_abstract = nxt[0]
    if (last_abstract and last_abstract == len(lines) and not data.endswith((b"\n", b"\r"))
            and not result.papers[-1].abstract.endswith(_FINISHED)):
        # What `head -c` or an interrupted save leaves: the text stops mid-line, mid-word.
        result.papers[-1].partial = True
        result.warnings.append(f"{name}:{last_abstract}: the file ends without a newline, so this abstract may be "
                               "cut short; it will not replace a stored one")
    if not result.papers:
        result.warnings.append(f"{name}: no papers found")
    return result


def _over(length: int) -> str:
    return f"line of {limits.size(length)} is over the limit of {limits.size(limits.PAGE_LINE)}"


def _too_big(where: str, length: int) -> SourceError:
    return SourceError(where, None, f"{limits.size(length)} is over the limit of {limits.size(limits.PAGE_FILE)} "
                                    "for a listing page; split the file")


def read_page(path: Path, today: dt.date | None = None) -> PageResult:
    """Read and parse a listing page. A date label without a year resolves against the file's
    modification date (the day it was saved), or `today` (default: today) if that is earlier."""
    try:
        stat = path.stat()
        # A file over the bound is refused before it is read into memory.
        data = path.read_bytes() if stat.st_size <= limits.PAGE_FILE else None
        saved = dt.date.fromtimestamp(stat.st_mtime)
    except (OSError, OverflowError, ValueError) as e:
        raise SourceError(str(path), None, f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    if data is None:
        raise _too_big(str(path), stat.st_size)
    today = today or dt.date.today()
    return parse_page(data, path.name, today=min(saved, today))
