"""arXiv API (Atom 1.0) query results → papers, plus the API's per-id error entries.

From the arXiv API user manual: each `<entry>` is one paper at its latest version, its `<id>` the
abs URL with the version (`http://arxiv.org/abs/2401.01234v2`), `<published>` the v1 date,
`<updated>` this version's date, and `arxiv:` extension elements for the primary category, DOI,
journal reference and comment. An error comes back as an entry whose id is under
`http://arxiv.org/api/errors` and whose summary says what was wrong ("incorrect id format for
1234.1234v1"). An entry with a field over its bound (`limits.py`) becomes such an error too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from .. import limits
from ..models import Paper, Sighting
from ..normalize import normalize_paper, parse_arxiv_id
from .arxiv_common import first_doi, iso_date
from .errors import SourceError

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_ERRORS = "http://arxiv.org/api/errors"
_ERROR_SUBJECT = re.compile(r"(?:for|:)\s+(\S+)\s*$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


@dataclass
class AtomError:
    arxiv_id: str | None  # the id the error names, when it names one
    message: str


@dataclass
class AtomFeed:
    papers: list[Paper] = field(default_factory=list)
    errors: list[AtomError] = field(default_factory=list)
    total_results: int | None = None


def parse_feed(data: bytes, where: str = "arxiv-api", ref: str = "arxiv-api") -> AtomFeed:
    """Read one API response; malformed XML or a non-Atom document raises SourceError.

    `ref` goes into each paper's Sighting("api", ref).
    """
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SourceError(where, exc.position[0] if exc.position else 0, f"malformed XML: {exc.msg}") from None
    if root.tag != f"{ATOM}feed":
        raise SourceError(where, root.sourceline or 0, "not an Atom feed")
    feed = AtomFeed()
    total = root.findtext(f"{OPENSEARCH}totalResults")
    feed.total_results = int(total) if total and total.strip().isdigit() else None
    for entry in root.iterfind(f"{ATOM}entry"):
        entry_id = (entry.findtext(f"{ATOM}id") or "").strip()
        summary = " ".join((entry.findtext(f"{ATOM}summary") or "").split())
        if entry_id.startswith(_ERRORS):
            m = _ERROR_SUBJECT.search(summary)
            feed.errors.append(AtomError(m.group(1) if m else None, summary or "error"))
            continue
        parsed = parse_arxiv_id(entry_id)
        title = entry.findtext(f"{ATOM}title") or ""
        if parsed is None or not title.strip():
            feed.errors.append(AtomError(parsed[0] if parsed else None,
                                         f"entry {entry_id or '?'} has no usable id or title"))
            continue
        try:
            feed.papers.append(normalize_paper(_paper(entry, parsed, title, summary, ref), tex=True))
        except limits.TooLarge as exc:
            feed.errors.append(AtomError(parsed[0], exc.message))
    return feed


def _paper(entry, parsed: tuple[str, int | None], title: str, summary: str, ref: str) -> Paper:
    # The entry's links name one version; the paper keeps the versionless arXiv links that
    # `Paper.abs_url` / `pdf_url` derive, so records from every arXiv source stay identical.
    arxiv_id, version = parsed
    primary = entry.find(f"{ARXIV}primary_category")
    categories = [c.get("term", "") for c in entry.iterfind(f"{ATOM}category")]
    return Paper(
        title=title,
        abstract=summary,
        arxiv_id=arxiv_id,
        version=version,
        authors=[a.findtext(f"{ATOM}name") or "" for a in entry.iterfind(f"{ATOM}author")],
        categories=[c for c in categories if c],
        primary_category=primary.get("term") if primary is not None else None,
        published=iso_date(entry.findtext(f"{ATOM}published")),
        updated=iso_date(entry.findtext(f"{ATOM}updated")),
        doi=first_doi(entry.findtext(f"{ARXIV}doi")),
        journal_ref=_clean(entry.findtext(f"{ARXIV}journal_ref")),
        comments=_clean(entry.findtext(f"{ARXIV}comment")),
        sightings=[Sighting("api", ref)],
    )


def _clean(text: str | None) -> str | None:
    return " ".join(text.split()) or None if text else None
