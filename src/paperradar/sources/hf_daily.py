"""A Hugging Face `daily_papers` API response (JSON) → papers, in the order the day lists them.

The response is a list of items, each with a `paper` object (`id` = arXiv id, `title`,
`summary`, `authors` [{name}], `publishedAt`) and the item's own `publishedAt` (the day it was
listed) and `title`. Text is already Unicode, so no TeX conversion is applied.
"""

from __future__ import annotations

import json

from ..models import Paper, Sighting
from ..normalize import normalize_paper, parse_arxiv_id
from .arxiv_common import iso_date
from .errors import SourceError


def parse_daily_papers(data: bytes | str, where: str = "hf-daily", ref: str | None = None) -> list[Paper]:
    """Every paper of the response; the rank goes into Sighting("hf-daily", ref, position)."""
    try:
        items = json.loads(data)
    except ValueError as exc:
        raise SourceError(where, getattr(exc, "lineno", 0), f"invalid JSON: {exc}") from None
    if isinstance(items, dict) and isinstance(items.get("dailyPapers"), list):
        items = items["dailyPapers"]  # the shape embedded in the papers page
    if not isinstance(items, list):
        raise SourceError(where, 0, "expected a JSON list of daily-paper items")
    ref = ref or where
    papers = []
    for rank, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise SourceError(where, 0, f"item {rank} is not an object")
        info = item.get("paper") if isinstance(item.get("paper"), dict) else item
        parsed = parse_arxiv_id(str(info.get("id") or ""))
        title = info.get("title") or item.get("title") or ""
        if parsed is None or not str(title).strip():
            raise SourceError(where, 0, f"item {rank} has no arXiv id or title (id {info.get('id')!r})")
        authors = [a.get("name", "") if isinstance(a, dict) else str(a) for a in info.get("authors") or []]
        listed = iso_date(item.get("publishedAt"))
        papers.append(normalize_paper(Paper(
            title=str(title),
            abstract=info.get("summary") or item.get("summary") or "",
            arxiv_id=parsed[0],
            version=parsed[1],
            authors=authors,
            published=iso_date(info.get("publishedAt")),
            sightings=[Sighting("hf-daily", ref, rank, listed.isoformat() if listed else "")],
        )))
    return papers
