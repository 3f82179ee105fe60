"""How large anything coming in may be: each field of a paper, a line of a source file, a request.

One table, read by `normalize_paper` (every source's records pass through it), by the line
readers of the file formats and by the web's request middleware; docs/harvest.md lists it.
Each bound sits far above what real data needs (its comment says what real data shows) and far
below what hurts: a 50 MB abstract took two minutes and 7 GB to import, then slowed every
keyword search to 15 s.

Over a bound the record is skipped, with a message naming the record, its size and the bound:
a title or abstract that long is not one (a file glued together, a missing newline), and
storing a part of it would store a wrong text. The exceptions are the fields where real papers
do go over and a part is still true: an author list keeps its first `AUTHORS` names (large
collaborations list thousands), and a comment, journal reference or license, which are shown
but never searched, is cut at `NOTE` characters with "…". Both are reported as warnings.
"""

from __future__ import annotations

import logging

from .sources.errors import SourceError

# Paper fields, in characters (after whitespace normalization) or items.
ID = 64  # the `id` and `arxiv_id` columns are VARCHAR(64); arXiv ids are 9-20 characters
TITLE = 1_000  # arXiv's longest titles are about 300 characters
ABSTRACT = 20_000  # arXiv allows 1,920; some older OAI records reach a few thousand
AUTHORS = 2_000  # names kept; the sample snapshot's 1411.4413 (CMS and LHCb) lists 2,833
AUTHOR_NAME = 300  # a name with affiliations glued on stays under 150 in the snapshot
CATEGORIES = 50  # arXiv papers carry a handful
CATEGORY = 64  # characters; the `primary_category` column is VARCHAR(64) on PostgreSQL
DOI = 255  # characters; the `doi` column is VARCHAR(255); real DOIs are under 100
NOTE = 2_000  # comments, journal-ref, license: the snapshot's longest comment is ~400

# Input framing, in bytes.
JSONL_LINE = 1 << 20  # one snapshot line; the longest real one (2,833 authors) is 97 KB
PAGE_LINE = 100 << 10  # one listing-page line; an abstract line is 1-3 KB
PAGE_FILE = 32 << 20  # one listing page; the demo pages are 95-300 KB
REQUEST_BODY = 1 << 20  # one web request; the largest form (interests) is a few KB
QUERY_STRING = 8 << 10  # what common servers and proxies accept in a request line

log = logging.getLogger("paperradar.limits")


class TooLarge(SourceError):
    """A field over its bound: the record is not taken. `where` names the paper; a reader that
    knows the file and line says so in the message it builds from this one."""


def size(n: int) -> str:
    """A byte count as people read it: "1 MiB", "100 KiB", "52.4 MiB", "812 bytes"."""
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) or value >= 100 else f"{value:.1f} {unit}"
    return f"{n:,} bytes"


def bound(fields: dict, notes: list[str] | None = None) -> None:
    """Hold a normalized paper's fields (as `normalize_paper` sets them) within the bounds.

    Raises TooLarge for a text over its bound; cuts an over-long author list or note in place
    and says so in `notes` (or, for a caller with nowhere to report, in the log). A field
    already within its bound is left as it is, so bounding twice changes nothing.
    """
    title = fields["title"]
    for name in ("id", "arxiv_id"):
        if fields[name] and len(fields[name]) > ID:
            raise TooLarge(f"paper {fields[name][:40]!r}...", None, f"{name.replace('_', ' ')} of "
                           f"{len(fields[name]):,} characters is over the limit of {ID}")
    record = f"paper {fields['arxiv_id'] or repr(title[:60])}"
    if len(title) > TITLE:
        raise TooLarge(record, None, f"title of {len(title):,} characters is over the limit of {TITLE:,}")
    if len(fields["abstract"]) > ABSTRACT:
        raise TooLarge(record, None, f"abstract of {len(fields['abstract']):,} characters is over the limit "
                                     f"of {ABSTRACT:,}")
    authors = fields["authors"]
    if len(authors) > AUTHORS:
        _note(notes, f"{record}: {len(authors):,} authors, over the limit of {AUTHORS:,}; kept the first {AUTHORS:,}")
        authors = fields["authors"] = authors[:AUTHORS]
    if authors and max(map(len, authors)) > AUTHOR_NAME:
        longest = max(authors, key=len)
        raise TooLarge(record, None, f"author name of {len(longest):,} characters is over the limit of "
                                     f"{AUTHOR_NAME}: {longest[:40]!r}...")
    categories = fields["categories"]
    if len(categories) > CATEGORIES:
        raise TooLarge(record, None, f"{len(categories):,} categories, over the limit of {CATEGORIES}")
    if categories and max(map(len, categories)) > CATEGORY:
        raise TooLarge(record, None, f"a category of {max(map(len, categories)):,} characters is over the "
                                     f"limit of {CATEGORY}")
    if fields["doi"] and len(fields["doi"]) > DOI:
        raise TooLarge(record, None, f"DOI of {len(fields['doi']):,} characters is over the limit of {DOI}")
    for name in ("journal_ref", "comments", "license"):
        text = fields[name]
        if text and len(text) > NOTE:
            _note(notes, f"{record}: {name.replace('_', '-')} of {len(text):,} characters, over the limit of "
                         f"{NOTE:,}; cut short")
            fields[name] = text[: NOTE - 1] + "…"


def _note(notes: list[str] | None, message: str) -> None:
    if notes is None:
        log.warning("%s", message)
    else:
        notes.append(message)
