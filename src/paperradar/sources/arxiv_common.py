"""Small readers shared by the arXiv formats: author strings, RFC 822 dates, category lists.

arXiv's OAI records, its Atom API and its metadata snapshot spell these the same way, so the
three parsers share one reading of them.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_AND = re.compile(r"\s+and\s+|,\s*and\s+|\s*,\s*|\s*;\s*")


def rfc822_date(text: str) -> dt.date | None:
    """The date of an RFC 822 timestamp as arXiv writes it ("Mon, 2 Apr 2007 19:18:42 GMT")."""
    parts = text.split()
    # The fast path covers arXiv's own spelling; anything else goes through the stdlib parser.
    if len(parts) >= 4 and parts[2] in _MONTHS and parts[1].isdigit() and parts[3].isdigit():
        try:
            return dt.date(int(parts[3]), _MONTHS[parts[2]], int(parts[1]))
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def iso_date(text: str | None) -> dt.date | None:
    """The date part of an ISO 8601 date or timestamp ("2024-01-02", "2024-01-02T10:00:00Z")."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def split_authors(text: str) -> list[str]:
    """Split arXiv's one-line author list ("A. One, B. Two and C. Three (MIT)") into names.

    Parenthesised affiliations are dropped; "Jr." and similar stay with the name before them.
    """
    depth, kept = 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            kept.append(ch)
    names: list[str] = []
    for piece in _AND.split("".join(kept)):
        piece = " ".join(piece.split())
        if not piece:
            continue
        if names and piece.lower() in _SUFFIXES:
            names[-1] = f"{names[-1]} {piece}"
        else:
            names.append(piece)
    return names


def parsed_author(keyname: str, forenames: str = "", suffix: str = "") -> str:
    """One display name from arXiv's (keyname, forenames, suffix) triple."""
    return " ".join(p for p in (forenames.strip(), keyname.strip(), suffix.strip()) if p)


def split_categories(text: str | None) -> list[str]:
    return text.split() if text else []


def first_doi(text: str | None) -> str | None:
    """arXiv lets a record list several DOIs separated by spaces; the first is the paper's."""
    return text.split()[0] if text and text.split() else None
