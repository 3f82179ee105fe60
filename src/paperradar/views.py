"""JSON shapes of papers, search hits and listed papers, shared by the JSON API and the CLI's --json.

They follow the Hugging Face Papers API wherever it has a field, as the real `huggingface_hub`
client reads it (`PaperInfo`): datetimes are `YYYY-MM-DDTHH:MM:SS.mmmZ` (it parses nothing
else), `upvotes` and `numComments` are integers, `githubRepo`/`projectPage` sit at the top
level, and no key is called `comments` (the client would take it over its own count: arXiv's
comment string is `arxivComments`). Our own fields (`score`, `highlight`, `seenOn`, `votes`,
`importedUpvotes`, `listedOn`, `trendingScore`) have names the client does not use.
"""

from __future__ import annotations

from typing import Any

from .models import Paper


def iso_z(value) -> str | None:
    """A date or datetime as the ISO datetime ending in Z that Hugging Face clients parse."""
    if value is None:
        return None
    if not hasattr(value, "hour"):
        return f"{value.isoformat()}T00:00:00.000Z"
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def submitter_json(name: str | None) -> dict[str, Any] | None:
    """A submitter as the client's `User` reads it (`user` is the username)."""
    if not name:
        return None
    return {"user": name, "name": name, "fullname": name, "type": "user", "isPro": False}


def _listing_fields(li) -> dict[str, Any]:
    """What a listing adds to a paper: counts, links, submitter and day."""
    if li is None:
        return {"upvotes": 0, "numComments": 0}
    return {
        "upvotes": li.points,
        "votes": li.votes,
        "importedUpvotes": li.imported_upvotes,
        "numComments": li.num_comments or 0,
        "submittedOnDailyAt": iso_z(li.listed_at),
        "listedOn": li.day.isoformat(),
        "submittedOnDailyBy": submitter_json(li.submitter),
        "githubRepo": li.github_repo,
        "githubStars": li.github_stars,
        "projectPage": li.project_page,
    }


def paper_json(p: Paper, *, full: bool = False, listing=None) -> dict[str, Any]:
    """A paper as a flat object (the shape of `GET /api/papers/{id}`)."""
    data: dict[str, Any] = {
        "id": p.id,
        "arxivId": p.arxiv_id,
        "title": p.title,
        "summary": p.abstract,
        "authors": [{"name": a, "hidden": False} for a in p.authors],
        "categories": p.categories,
        "publishedAt": iso_z(p.published),
        "firstSeenAt": iso_z(p.first_seen_at),
        "url": p.abs_url,
        **_listing_fields(listing),
    }
    if full:
        data.update({
            "version": p.version,
            "primaryCategory": p.primary_category,
            "updatedAt": iso_z(p.updated),
            "doi": p.doi,
            "journalRef": p.journal_ref,
            "arxivComments": p.comments,
            "license": p.license,
            "links": {**p.links, **({"pdf": p.pdf_url} if p.pdf_url else {})},
            "withdrawn": p.withdrawn,
            "seenOn": [{"source": s.source, "ref": s.ref, "position": s.position, "listed": s.listed}
                       for s in p.sightings],
        })
    return data


def hit_json(hit, listing=None) -> dict[str, Any]:
    return {**paper_json(hit.paper, listing=listing), "score": round(hit.score, 6), "highlight": str(hit.snippet_html)}


def listed_json(entry) -> dict[str, Any]:
    """A listed paper in the shape of a Hugging Face `daily_papers` item, plus our own fields.

    `upvotes` (in `paper` and again at the top level, where the client keeps a 0 that it would
    drop inside `paper`) is the total shown: local `votes` + `importedUpvotes`.
    """
    p, li = entry.paper, entry.listing
    extra = _listing_fields(li)
    data: dict[str, Any] = {
        "paper": {
            "id": p.id,
            "authors": [{"name": a, "hidden": False} for a in p.authors],
            "publishedAt": iso_z(p.published),
            "submittedOnDailyAt": extra["submittedOnDailyAt"],
            "title": p.title,
            "summary": p.abstract,
            "upvotes": li.points,
            "discussionId": p.id,
            "githubRepo": li.github_repo,
            "githubStars": li.github_stars,
            "projectPage": li.project_page,
        },
        "publishedAt": extra["submittedOnDailyAt"],  # on an item: when it was listed
        "title": p.title,
        "summary": p.abstract,
        "thumbnail": None,
        "numComments": extra["numComments"],
        "submittedBy": submitter_json(li.submitter),
        "isAuthorParticipating": False,
        "upvotes": li.points,
        "githubRepo": li.github_repo,
        "githubStars": li.github_stars,
        "projectPage": li.project_page,
        "listedOn": extra["listedOn"],
        "votes": li.votes,
        "importedUpvotes": li.imported_upvotes,
        "categories": p.categories,
        "url": p.abs_url,
    }
    if entry.score is not None:
        data["trendingScore"] = round(entry.score, 8)
    return data
