"""The public arXiv metadata snapshot (one JSON object per line) → papers, streamed.

Each line has id, submitter, authors, authors_parsed ([keyname, forenames, suffix] triples),
title, abstract, categories, versions ([{version, created}] with RFC 822 dates), update_date,
doi, journal-ref, comments and license. The file is read one line at a time from a byte offset,
so a multi-gigabyte snapshot never sits in memory and an import can resume where it stopped.
A line that cannot be read is yielded as a `SourceError` naming the file and line number; so
is a line over `limits.JSONL_LINE` (never read whole) and a paper with a field over its bound.
"""

from __future__ import annotations

import json
import os
from typing import Iterator

from .. import limits
from ..models import Paper, Sighting
from ..normalize import normalize_paper, parse_arxiv_id
from .arxiv_common import first_doi, iso_date, parsed_author, rfc822_date, split_authors, split_categories
from .errors import SourceError


def iter_snapshot(path: str | os.PathLike, offset: int = 0, line: int = 0,
                  ref: str | None = None) -> Iterator[tuple[int, int, Paper | SourceError]]:
    """Yield (line number, byte offset just past that line, paper or error) from `offset` on.

    `offset` and `line` are where a previous run stopped (0, 0 for the start); `ref` names the
    snapshot in each paper's Sighting("jsonl", ref), by default the file's name.
    """
    where = str(path)
    ref = ref or os.path.basename(where)
    with open(path, "rb") as f:
        f.seek(offset)
        readline = f.readline
        while raw := readline(limits.JSONL_LINE + 1):
            line += 1
            offset += len(raw)
            if len(raw) > limits.JSONL_LINE:
                length = len(raw) if raw.endswith(b"\n") else len(raw) + _skip_line(f)
                offset += length - len(raw)
                yield line, offset, SourceError(where, line, f"line of {limits.size(length)} is over the limit of "
                                                             f"{limits.size(limits.JSONL_LINE)} for one record")
                continue
            if raw.isspace():
                continue
            try:
                yield line, offset, parse_line(raw, where, line, ref)
            except SourceError as exc:
                yield line, offset, exc


def _skip_line(f) -> int:
    """Read past the rest of an over-long line, a chunk at a time; how many bytes that was."""
    skipped = 0
    while chunk := f.readline(1 << 20):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def parse_line(raw: bytes | str, where: str = "jsonl", line: int = 0, ref: str = "jsonl") -> Paper:
    """One snapshot line → a normalized Paper; anything unreadable raises SourceError."""
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise SourceError(where, line, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise SourceError(where, line, "invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise SourceError(where, line, "expected a JSON object")
    try:
        return _paper(obj, ref)
    except limits.TooLarge as exc:
        raise SourceError(where, line, str(exc)) from None
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise SourceError(where, line, f"unexpected field shape: {exc}") from None
    except _Missing as exc:
        raise SourceError(where, line, str(exc)) from None


class _Missing(Exception):
    pass


def _paper(obj: dict, ref: str) -> Paper:
    parsed = parse_arxiv_id(str(obj.get("id") or ""))
    if parsed is None:
        raise _Missing(f"missing or invalid arXiv id {obj.get('id')!r}")
    title = obj.get("title") or ""
    if not isinstance(title, str) or not title.strip():
        raise _Missing(f"paper {parsed[0]} has no title")
    versions = []
    for v in obj.get("versions") or []:
        label = str(v.get("version", "")).lstrip("v")
        versions.append((int(label) if label.isdigit() else len(versions) + 1, v.get("created") or ""))
    versions.sort(key=lambda pair: pair[0])
    authors_parsed = obj.get("authors_parsed")
    if authors_parsed:
        authors = [parsed_author(*(list(a) + ["", ""])[:3]) for a in authors_parsed]
    else:
        authors = split_authors(obj.get("authors") or "")
    published = rfc822_date(versions[0][1]) if versions else None
    return normalize_paper(Paper(
        title=title,
        abstract=obj.get("abstract") or "",
        arxiv_id=parsed[0],
        version=versions[-1][0] if versions else parsed[1],
        authors=authors,
        categories=split_categories(obj.get("categories")),
        published=published or iso_date(obj.get("update_date")),
        updated=(rfc822_date(versions[-1][1]) if versions else None) or iso_date(obj.get("update_date")),
        doi=first_doi(obj.get("doi")),
        journal_ref=obj.get("journal-ref") or None,
        comments=obj.get("comments") or None,
        license=obj.get("license") or None,
        sightings=[Sighting("jsonl", ref)],
    ), tex=True)
