"""The records that flow between the boxes: a Paper and where it was seen.

Sources produce these, ingest normalizes and dedupes them, the store persists them. They are
plain dataclasses so every box can build them without touching a database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sighting:
    """One place a paper was seen: a source, a reference inside it and a position there."""

    source: str  # "pages", "oai", "api", "jsonl", "hf-daily", "submit"
    ref: str  # file name, set name, URL...
    position: int = 0  # 1-based rank on a listing page, 0 when meaningless
    listed: str = ""  # the listing's own date label ("Mar 11"), as shown upstream


@dataclass
class Listing:
    """Where a paper entered the dated daily lists: the day, the source, and what that source
    says of it (upvotes and comments counted upstream, code and project links)."""

    day: dt.date
    source: str  # "pages", "hf-daily", "oai", "submit"
    position: int = 0  # rank in the upstream list, 0 when none
    submitter_name: str | None = None  # an upstream submitter, when the source names one
    upvotes: int = 0  # counted upstream (e.g. Hugging Face); local votes are kept apart
    num_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None


@dataclass
class Paper:
    """A paper as paperradar knows it; ready for arXiv metadata, usable without it."""

    title: str
    abstract: str = ""
    id: str = ""  # paperradar id: arXiv id without version when known, else derived from title
    arxiv_id: str | None = None  # without version
    version: int | None = None
    authors: list[str] = field(default_factory=list)  # in paper order
    categories: list[str] = field(default_factory=list)  # primary first
    primary_category: str | None = None
    published: dt.date | None = None  # v1 date
    updated: dt.date | None = None  # latest version's date
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    license: str | None = None
    links: dict[str, str] = field(default_factory=dict)  # {"abs": url, "pdf": url, ...}
    withdrawn: bool = False
    sightings: list[Sighting] = field(default_factory=list)
    listing: Listing | None = None  # set by sources that list papers by day; stored once
    # Its text may be cut short (the last record of a page file with no final newline): it can
    # add a paper but never change a stored one's text. Not stored.
    partial: bool = False
    first_seen_at: dt.datetime | None = None  # set by the store

    def content_hash(self) -> str:
        """Hash of the text that search and embeddings see; changes mean re-embed."""
        text = "\x1f".join([self.title, self.abstract, "\x1e".join(self.authors)])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def replace(self, **changes) -> "Paper":
        return dataclasses.replace(self, **changes)

    @property
    def abs_url(self) -> str | None:
        if self.links.get("abs"):
            return self.links["abs"]
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else None

    @property
    def pdf_url(self) -> str | None:
        if self.links.get("pdf"):
            return self.links["pdf"]
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else None
