"""arXiv's OAI-PMH ListRecords pages (metadataPrefix arXiv or arXivRaw) → papers.

One page in, one `OaiPage` out: the papers, the ids of deleted records, the resumptionToken
(with completeListSize / cursor when given) and the responseDate. An OAI-PMH `<error>` (for
example noRecordsMatch or badResumptionToken) is raised as `OaiError` with its code; a page that
is not well-formed OAI-PMH raises `SourceError`. A record that cannot be read is reported in
`OaiPage.errors` so one bad record never blocks a whole harvest; so is a record with a field
over its bound (`limits.py`).

Formats, from arXiv's documentation: `arXiv` has authors split into keyname / forenames /
suffix and `created` / `updated` dates but no version numbers; `arXivRaw` has the authors as
one line and one `<version>` element per version with an RFC 822 date (v1's is the
publication date).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .. import limits
from ..models import Paper, Sighting
from ..normalize import normalize_paper
from .arxiv_common import first_doi, iso_date, parsed_author, rfc822_date, split_authors, split_categories
from .errors import SourceError

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"
FORMATS = ("arXiv", "arXivRaw")
_ID_PREFIX = "oai:arXiv.org:"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)


class OaiError(Exception):
    """An OAI-PMH protocol error the repository answered with (`code` as in the spec)."""

    def __init__(self, code: str, message: str = "", response_date: str = ""):
        self.code = code
        self.message = message
        self.response_date = response_date
        super().__init__(f"OAI-PMH error {code}: {message}" if message else f"OAI-PMH error {code}")


@dataclass
class OaiPage:
    papers: list[Paper] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # arXiv ids (no version) of deleted records
    token: str | None = None  # None: the list is complete
    complete_list_size: int | None = None
    cursor: int | None = None
    response_date: str = ""  # the repository's clock, ISO 8601 UTC
    errors: list[SourceError] = field(default_factory=list)  # records that could not be read


def parse_list_records(data: bytes, where: str = "oai", ref: str = "arXiv") -> OaiPage:
    """Read one ListRecords response; `ref` goes into each paper's Sighting("oai", ref)."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else 0
        raise SourceError(where, line, f"malformed XML: {exc.msg}") from None
    if root.tag != f"{OAI}OAI-PMH":
        raise SourceError(where, root.sourceline or 0, f"not an OAI-PMH response (root <{etree.QName(root).localname}>)")
    page = OaiPage(response_date=(root.findtext(f"{OAI}responseDate") or "").strip())
    error = root.find(f"{OAI}error")
    if error is not None:
        raise OaiError(error.get("code", "unknown"), " ".join((error.text or "").split()), page.response_date)
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise SourceError(where, root.sourceline or 0, "OAI-PMH response has neither ListRecords nor error")
    for record in listing.iterfind(f"{OAI}record"):
        try:
            _read_record(record, page, where, ref)
        except SourceError as exc:
            page.errors.append(exc)
    token = listing.find(f"{OAI}resumptionToken")
    if token is not None:
        page.token = (token.text or "").strip() or None
        page.complete_list_size = _int(token.get("completeListSize"))
        page.cursor = _int(token.get("cursor"))
    return page


def _read_record(record, page: OaiPage, where: str, ref: str) -> None:
    header = record.find(f"{OAI}header")
    if header is None:
        raise SourceError(where, record.sourceline or 0, "record without header")
    identifier = (header.findtext(f"{OAI}identifier") or "").strip()
    if header.get("status") == "deleted":
        arxiv_id = identifier[len(_ID_PREFIX):] if identifier.startswith(_ID_PREFIX) else identifier
        if not arxiv_id:
            raise SourceError(where, record.sourceline or 0, "deleted record without identifier")
        page.deleted.append(arxiv_id)
        return
    metadata = record.find(f"{OAI}metadata")
    element = None if metadata is None else next(iter(metadata), None)
    if element is None:
        raise SourceError(where, record.sourceline or 0, f"record {identifier or '?'} has no metadata")
    if element.tag == f"{ARXIV}arXiv":
        paper = _from_arxiv(element)
    elif element.tag == f"{ARXIV_RAW}arXivRaw":
        paper = _from_arxiv_raw(element)
    else:
        raise SourceError(where, element.sourceline or 0, f"unsupported metadata format <{element.tag}>")
    if not paper.arxiv_id or not paper.title.strip():
        raise SourceError(where, element.sourceline or 0, f"record {identifier or '?'} lacks an id or a title")
    paper.sightings.append(Sighting("oai", ref))
    try:
        page.papers.append(normalize_paper(paper, tex=True))
    except limits.TooLarge as exc:
        raise SourceError(where, element.sourceline or 0, str(exc)) from None


def _text(element, ns: str, name: str) -> str | None:
    value = element.findtext(ns + name)
    return value.strip() if value and value.strip() else None


def _from_arxiv(e) -> Paper:
    authors = []
    for a in e.iterfind(f"{ARXIV}authors/{ARXIV}author"):
        authors.append(parsed_author(a.findtext(f"{ARXIV}keyname") or "", a.findtext(f"{ARXIV}forenames") or "",
                                     a.findtext(f"{ARXIV}suffix") or ""))
    created = iso_date(_text(e, ARXIV, "created"))
    return Paper(
        title=_text(e, ARXIV, "title") or "",
        abstract=_text(e, ARXIV, "abstract") or "",
        arxiv_id=_text(e, ARXIV, "id"),
        authors=authors,
        categories=split_categories(_text(e, ARXIV, "categories")),
        published=created,
        updated=iso_date(_text(e, ARXIV, "updated")) or created,
        doi=first_doi(_text(e, ARXIV, "doi")),
        journal_ref=_text(e, ARXIV, "journal-ref"),
        comments=_text(e, ARXIV, "comments"),
        license=_text(e, ARXIV, "license"),
    )


def _from_arxiv_raw(e) -> Paper:
    versions = []
    for v in e.iterfind(f"{ARXIV_RAW}version"):
        label = (v.get("version") or "").lstrip("v")
        versions.append((int(label) if label.isdigit() else len(versions) + 1,
                         rfc822_date(v.findtext(f"{ARXIV_RAW}date") or "")))
    versions.sort(key=lambda pair: pair[0])
    return Paper(
        title=_text(e, ARXIV_RAW, "title") or "",
        abstract=_text(e, ARXIV_RAW, "abstract") or "",
        arxiv_id=_text(e, ARXIV_RAW, "id"),
        version=versions[-1][0] if versions else None,
        authors=split_authors(_text(e, ARXIV_RAW, "authors") or ""),
        categories=split_categories(_text(e, ARXIV_RAW, "categories")),
        published=versions[0][1] if versions else None,
        updated=versions[-1][1] if versions else None,
        doi=first_doi(_text(e, ARXIV_RAW, "doi")),
        journal_ref=_text(e, ARXIV_RAW, "journal-ref"),
        comments=_text(e, ARXIV_RAW, "comments"),
        license=_text(e, ARXIV_RAW, "license"),
    )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
