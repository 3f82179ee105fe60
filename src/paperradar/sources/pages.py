"""Listing pages: the text of a paper site's list view (titles and abstracts).

The format, as seen in the demo corpus: site boilerplate lines ("Get trending papers in your
email inbox!", "Subscribe", ...), an optional date label such as "Mar 11", then one line per
title followed by one line per abstract, with or without blank lines between. The first title
may be glued to "Subscribe". Titles are short single sentences; abstracts are long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..models import Paper, Sighting
from .errors import SourceError

SOURCE = "pages"
BOILERPLATE = {
    "new",
    "subscribe",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "byak and the research community",
}
_DATE = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}(, \d{4})?$")
_SENTENCE_END = re.compile(r"[.!?](\s|$)")
MAX_TITLE = 300


@dataclass
class PageResult:
    papers: list[Paper] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _looks_like_abstract(line: str) -> bool:
    """Abstracts are long or hold several sentences; titles are neither."""
    return len(line) > MAX_TITLE or len(_SENTENCE_END.findall(line)) >= 2


def _decode(data: bytes, name: str, warnings: list[str]) -> list[str]:
    if b"\x00" in data[:4096] or _binary_ratio(data[:4096]) > 0.1:
        raise SourceError(name, None, "binary data, not a listing page")
    lines = []
    for n, raw in enumerate(data.splitlines(), 1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1252", errors="replace"))
            warnings.append(f"{name}:{n}: not valid UTF-8, decoded as Windows-1252")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return lines


def _binary_ratio(chunk: bytes) -> float:
    if not chunk:
        return 0.0
    control = sum(1 for b in chunk if b < 32 and b not in (9, 10, 13))
    return control / len(chunk)


def parse_page(data: bytes, name: str) -> PageResult:
    """Parse one listing page. Raises SourceError for binary input; warns for skipped records."""
    result = PageResult()
    listed = ""
    content: list[tuple[int, str]] = []
    for n, line in enumerate(_decode(data, name, result.warnings), 1):
        text = " ".join(line.split())
        if text[:9].lower() == "subscribe" and text.lower() not in BOILERPLATE:
            text = text[9:].strip()  # the first title glued to the Subscribe button
        if not text or text.lower() in BOILERPLATE:
            continue
        if _DATE.match(text):
            listed = listed or text
            continue
        content.append((n, text))

    i = 0
    while i < len(content):
        n, title = content[i]
        nxt = content[i + 1] if i + 1 < len(content) else None
        if _looks_like_abstract(title):
            result.warnings.append(f"{name}:{n}: abstract with no title before it, skipped")
            i += 1
            continue
        if nxt is None or not _looks_like_abstract(nxt[1]):
            result.warnings.append(f"{name}:{n}: title with no abstract, skipped: {title[:60]!r}")
            i += 1
            continue
        position = len(result.papers) + 1
        result.papers.append(
            Paper(title=title, abstract=nxt[1], sightings=[Sighting(SOURCE, name, position, listed)])
        )
        i += 2
    if not result.papers:
        result.warnings.append(f"{name}: no papers found")
    return result


def read_page(path: Path) -> PageResult:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SourceError(str(path), None, f"cannot read: {e.strerror or e}") from None
    return parse_page(data, path.name)
