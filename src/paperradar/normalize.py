"""One normalization for every source: whitespace, titles for dedupe, arXiv ids, paper ids.

Every source's records pass through `normalize_paper` before they reach the store, so the same
paper arriving from two sources is recognised as one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from .models import Paper

_WS = re.compile(r"\s+")
_NEW_ID = re.compile(r"^(\d{4}\.\d{4,5})(?:v(\d+))?$")
_OLD_ID = re.compile(r"^([a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?$")
_URL_PREFIX = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/", re.IGNORECASE
)


def clean_text(text: str | None) -> str:
    """Collapse runs of whitespace (newlines, tabs, NBSP) to one space and strip."""
    if not text:
        return ""
    return _WS.sub(" ", text.replace("\x00", "")).strip()


def title_key(title: str) -> str:
    """A key under which two spellings of one title compare equal (case, accents, punctuation)."""
    decomposed = unicodedata.normalize("NFKD", title)
    ascii_ish = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", ascii_ish.lower()))


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """Split an arXiv id or abs/pdf URL into (id without version, version or None).

    Accepts new-style (2401.01234, 2401.01234v2), old-style (hep-th/9901001v1, math.GT/0309136),
    `arXiv:` prefixes and abs/pdf URLs with or without `.pdf`. Returns None if it is not one.
    """
    s = text.strip()
    s = _URL_PREFIX.sub("", s)
    s = re.sub(r"^arxiv:", "", s, flags=re.IGNORECASE)
    s = s.split("?")[0].split("#")[0].rstrip("/")
    if s.endswith(".pdf"):
        s = s[:-4]
    for pattern in (_NEW_ID, _OLD_ID):
        m = pattern.match(s)
        if m:
            return m.group(1), int(m.group(2)) if m.group(2) else None
    return None


def derived_id(title: str) -> str:
    """A stable id for a paper with no arXiv id: derived from its normalized title."""
    return "t" + hashlib.sha1(title_key(title).encode("utf-8")).hexdigest()[:11]


def normalize_paper(paper: Paper) -> Paper:
    """Apply the shared cleanups and fill in the id; sources may leave any of this undone."""
    arxiv_id, version = paper.arxiv_id, paper.version
    if arxiv_id:
        parsed = parse_arxiv_id(arxiv_id)
        if parsed:
            arxiv_id, parsed_version = parsed
            version = version or parsed_version
    title = clean_text(paper.title)
    categories = [c for c in dict.fromkeys(clean_text(c) for c in paper.categories) if c]
    primary = paper.primary_category or (categories[0] if categories else None)
    if primary and primary not in categories:
        categories.insert(0, primary)
    return paper.replace(
        id=paper.id or arxiv_id or derived_id(title),
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=clean_text(paper.abstract),
        authors=[a for a in (clean_text(a) for a in paper.authors) if a],
        categories=categories,
        primary_category=primary,
        doi=clean_text(paper.doi).lower() or None,
    )
