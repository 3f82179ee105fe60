"""JSON shapes of papers and search hits, shared by the JSON API and the CLI's --json.

Field names follow the Hugging Face Papers API where one exists (`id`, `title`, `summary`,
`authors[].name`, `publishedAt`) so tools written for it work against paperradar.
"""

from __future__ import annotations

from typing import Any

from .models import Paper


def paper_json(p: Paper, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": p.id,
        "arxivId": p.arxiv_id,
        "title": p.title,
        "summary": p.abstract,
        "authors": [{"name": a} for a in p.authors],
        "categories": p.categories,
        "publishedAt": p.published.isoformat() if p.published else None,
        "firstSeenAt": p.first_seen_at.isoformat() + "Z" if p.first_seen_at else None,
        "url": p.abs_url,
    }
    if full:
        data.update({
            "version": p.version,
            "primaryCategory": p.primary_category,
            "updatedAt": p.updated.isoformat() if p.updated else None,
            "doi": p.doi,
            "journalRef": p.journal_ref,
            "comments": p.comments,
            "license": p.license,
            "links": {**p.links, **({"pdf": p.pdf_url} if p.pdf_url else {})},
            "withdrawn": p.withdrawn,
            "seenOn": [{"source": s.source, "ref": s.ref, "position": s.position, "listed": s.listed}
                       for s in p.sightings],
        })
    return data


def hit_json(hit) -> dict[str, Any]:
    return {**paper_json(hit.paper), "score": round(hit.score, 6), "highlight": str(hit.snippet_html)}
