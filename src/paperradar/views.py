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


def _iso_z(value) -> str | None:
    """A date or datetime as the ISO datetime ending in Z that Hugging Face clients parse."""
    if value is None:
        return None
    if not hasattr(value, "hour"):
        return f"{value.isoformat()}T00:00:00.000Z"
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def listed_json(entry) -> dict[str, Any]:
    """A listed paper in the shape of a Hugging Face `daily_papers` item, plus our own fields.

    `paper.upvotes` is the total shown (local votes + imported upvotes); `votes` and
    `importedUpvotes` give the two parts.
    """
    p, li = entry.paper, entry.listing
    submitter = {"user": li.submitter, "fullname": li.submitter} if li.submitter else None
    data: dict[str, Any] = {
        "paper": {
            "id": p.id,
            "authors": [{"name": a} for a in p.authors],
            "publishedAt": _iso_z(p.published),
            "submittedOnDailyAt": _iso_z(li.listed_at),
            "title": p.title,
            "summary": p.abstract,
            "upvotes": li.points,
            "githubRepo": li.github_repo,
            "githubStars": li.github_stars,
            "projectPage": li.project_page,
        },
        "publishedAt": _iso_z(li.listed_at),
        "title": p.title,
        "summary": p.abstract,
        "numComments": li.num_comments or 0,
        "submittedBy": submitter,
        "listedOn": li.day.isoformat(),
        "votes": li.votes,
        "importedUpvotes": li.imported_upvotes,
        "categories": p.categories,
        "url": p.abs_url,
    }
    if entry.score is not None:
        data["trendingScore"] = round(entry.score, 8)
    return data
