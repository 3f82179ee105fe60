"""HTML pages: search results and one paper (the dated lists are in routes_community)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from ..search import highlight
from . import csrf
from .api import MAX_QUERY
from .deps import current_account

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"


def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    base = {"request": request, "csrf_token": csrf.token(request), "q": "",
            "settings": request.app.state.settings, "account": current_account(request)}
    return request.app.state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


@router.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says; it is the same SVG."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: str = Query("", max_length=MAX_QUERY), page: int = Query(1, ge=1, le=1000),
           mode: str = Query("hybrid", pattern="^(hybrid|lexical|vector)$")):
    radar = request.app.state.radar
    size = radar.settings.page_size
    results = radar.search.search(q, limit=size + 1, offset=(page - 1) * size, mode=mode) if q.strip() else None
    has_next = bool(results and len(results.hits) > size)
    if results:
        results.hits = results.hits[:size]
    return render(request, "search.html", {"q": q, "results": results, "page": page, "has_next": has_next,
                                           "mode": mode})


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse)
def paper(request: Request, paper_id: str):
    radar = request.app.state.radar
    p = radar.store.get_paper(paper_id)
    if p is None:
        raise HTTPException(404, f"No paper with id {paper_id!r}.")
    account = current_account(request)
    listing = radar.store.get_listing(p.id)
    return render(request, "paper.html", {
        "paper": p, "abstract_html": highlight.mark(p.abstract, highlight.matcher([])),
        "similar": radar.search.similar(p, limit=8), "listing": listing,
        "voted": bool(account and listing and radar.store.voted(account.id, [p.id])),
    })
