"""Hugging Face Daily Papers → papers, each with the day it was listed and Hugging Face's counts.

Accepted input, plain or gzipped (recognised by the gzip magic bytes, not by the file name):
- one `daily_papers` API response: a JSON list of items, or `{"dailyPapers": [...]}` as embedded
  in the papers page;
- JSON lines, one such item per line (a collection of many days, e.g. ../shared/data).

An item has a `paper` object (`id` = arXiv id, `title`, `summary`, `authors` [{name}],
`publishedAt`, `submittedOnDailyAt`, `upvotes`, `githubRepo`, `githubStars`, `projectPage`) and
its own `publishedAt`, `title`, `numComments` and `submittedBy`. Each paper gets a
`Listing(source="hf-daily")` for the day it was listed (`submittedOnDailyAt`, else the item's
`publishedAt`) at its rank within that day. Text is already Unicode, so no TeX conversion.

Parsing is all or nothing: the first bad item raises SourceError naming the file and its line.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import zlib
from typing import Iterator

from ..models import Listing, Paper, Sighting
from ..normalize import normalize_paper, parse_arxiv_id
from .arxiv_common import iso_date
from .errors import SourceError

SOURCE = "hf-daily"
GZIP_MAGIC = b"\x1f\x8b"
# The real 580-day collection is 21 MB as JSON lines and one item about 2 KB: these bounds leave
# room for years of lists while refusing a gzip bomb or a file that is not daily papers at all.
MAX_BYTES = 256 * 1024 * 1024
MAX_RECORD = 4 * 1024 * 1024
MAX_COUNT = 2**31 - 1  # the listings columns are 32-bit integers on PostgreSQL
MAX_NAME = 128  # listings.submitter_name
MAX_URL = 2000


def parse_daily_papers(data: bytes | str, where: str = SOURCE, ref: str | None = None) -> list[Paper]:
    """Every paper of the input, in its order; rank within its day goes into the Listing and the
    Sighting(SOURCE, ref, rank, item's publishedAt date)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    text = _decompress(raw, where).lstrip(b"\xef\xbb\xbf \t\r\n")
    ref = ref or where
    papers, ranks = [], {}
    for n, line, item in _items(text, where):
        papers.append(_paper(item, n, line, where, ref, ranks))
    return papers


def _decompress(data: bytes, where: str) -> bytes:
    if not data.startswith(GZIP_MAGIC):
        if len(data) > MAX_BYTES:
            raise SourceError(where, None, f"{len(data) >> 20} MB is over the {MAX_BYTES >> 20} MB limit; split the file")
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            out = f.read(MAX_BYTES + 1)  # bounded: a small .gz may inflate to anything
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(where, None, f"not a readable gzip file: {exc}") from None
    if len(out) > MAX_BYTES:
        raise SourceError(where, None, f"decompresses to over {MAX_BYTES >> 20} MB; split the file")
    return out


def _items(text: bytes, where: str) -> Iterator[tuple[int, int, dict]]:
    """(item number, line number or 0, item) for either shape of input."""
    if not text:
        raise SourceError(where, None, "empty file, expected daily-paper items")
    if _is_json_lines(text):
        yield from _json_lines(text, where)
        return
    items = _loads(text, where, 0)
    if isinstance(items, dict) and isinstance(items.get("dailyPapers"), list):
        items = items["dailyPapers"]  # the shape embedded in the papers page
    elif isinstance(items, dict) and "paper" in items:
        items = [items]  # JSON lines holding a single item
    if not isinstance(items, list):
        raise SourceError(where, None, "expected a JSON list of daily-paper items")
    for n, item in enumerate(items, 1):
        yield n, 0, item


def _is_json_lines(text: bytes) -> bool:
    """One object per line, rather than one (perhaps pretty-printed) document? Yes when the first
    line is a whole object and more follows, or when the next line also opens an object at its
    start (a broken first line must still be reported as line 1)."""
    if not text.startswith(b"{"):
        return False
    first, _, rest = text.partition(b"\n")
    rest = rest.lstrip(b"\r\n")
    if not rest.strip():
        return False
    if rest.startswith(b"{"):
        return True
    if len(first) > MAX_RECORD:
        return True  # refused by the per-line bound, with its line number
    try:
        json.loads(first)
    except (ValueError, RecursionError):
        return False
    return True


def _json_lines(text: bytes, where: str) -> Iterator[tuple[int, int, dict]]:
    n = 0
    for line_no, line in enumerate(text.split(b"\n"), 1):
        if not line.strip():
            continue
        if len(line) > MAX_RECORD:
            raise SourceError(where, line_no, f"line of {len(line) >> 20} MB, over the {MAX_RECORD >> 20} MB limit for one item")
        n += 1
        yield n, line_no, _loads(line, where, line_no)


def _loads(text: bytes, where: str, line_no: int):
    try:
        return json.loads(text)
    except RecursionError:
        raise SourceError(where, line_no or None, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        line = line_no or getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", None) or str(exc)
        col = f" (column {exc.colno})" if getattr(exc, "colno", None) else ""
        raise SourceError(where, line, f"invalid JSON: {msg}{col}") from None


def _paper(item, n: int, line: int, where: str, ref: str, ranks: dict[dt.date, int]) -> Paper:
    at = line or None
    if not isinstance(item, dict):
        raise SourceError(where, at, f"item {n} is not an object")
    info = item.get("paper") if isinstance(item.get("paper"), dict) else item
    parsed = parse_arxiv_id(str(info.get("id") or ""))
    title = info.get("title") or item.get("title") or ""
    if parsed is None or not isinstance(title, str) or not title.strip():
        raise SourceError(where, at, f"item {n} has no arXiv id or title (id {str(info.get('id'))[:40]!r})")
    authors = info.get("authors") if isinstance(info.get("authors"), list) else []
    names = [str(a.get("name") or "") if isinstance(a, dict) else str(a) for a in authors]
    listed = _date(item.get("publishedAt"))
    day = _date(info.get("submittedOnDailyAt")) or listed
    rank = n
    listing = None
    if day is not None:
        rank = ranks[day] = ranks.get(day, 0) + 1
        listing = Listing(
            day=day, source=SOURCE, position=rank, submitter_name=_submitter(item.get("submittedBy")),
            upvotes=_count(info.get("upvotes")) or 0, num_comments=_count(item.get("numComments")),
            github_repo=_text(info.get("githubRepo"), MAX_URL), github_stars=_count(info.get("githubStars")),
            project_page=_text(info.get("projectPage"), MAX_URL))
    summary = info.get("summary") or item.get("summary") or ""
    return normalize_paper(Paper(
        title=title,
        abstract=summary if isinstance(summary, str) else "",
        arxiv_id=parsed[0],
        version=parsed[1],
        authors=names,
        published=_date(info.get("publishedAt")),
        sightings=[Sighting(SOURCE, ref, rank, listed.isoformat() if listed else "")],
        listing=listing,
    ))


def _date(value) -> dt.date | None:
    return iso_date(value) if isinstance(value, str) else None


def _count(value) -> int | None:
    """A non-negative count, or None for anything else (a string, a float, a huge number)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


def _text(value, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def _submitter(value) -> str | None:
    if not isinstance(value, dict):
        return None
    return _text(value.get("fullname"), MAX_NAME) or _text(value.get("name"), MAX_NAME)
