"""HTML pages: search results and one paper (the dated lists are in routes_community)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Hashable

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from ..search import highlight
from . import csrf
from .api import MAX_QUERY
from .deps import SESSION_COOKIE, current_account, in_search_thread
from .page_cache import TOKEN_PLACEHOLDER

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"


def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    base = {"request": request, "csrf_token": csrf.token(request), "q": "",
            "settings": request.app.state.settings, "account": current_account(request)}
    return HTMLResponse(_body(request, name, {**base, **context}), status_code=status)


def _body(request: Request, name: str, context: dict) -> str:
    # The environment's own template cache (compiled once per process); Starlette's
    # TemplateResponse adds only context processors and debug hooks, which we do not use.
    return request.app.state.templates.env.get_template(name).render(context)


def render_cached(request: Request, name: str, context: Callable[[], dict], vary: Hashable = None) -> HTMLResponse:
    """`render`, keeping the page for every visitor without a session until the store changes
    (web/page_cache.py): what differs between them, the CSRF token, is put in per response.
    `context()` is the anonymous page's; a member's page is rendered each time. `vary`: what
    else than the URL and the store's version the page depends on."""
    if request.cookies.get(SESSION_COOKIE):
        return render(request, name, context())
    key = (name, request.url.path, request.scope.get("query_string", b""), vary)
    body = request.app.state.pages.page(request, key, lambda: _body(request, name, {
        "request": request, "csrf_token": TOKEN_PLACEHOLDER, "q": "", "settings": request.app.state.settings,
        "account": None, **context()}))
    return HTMLResponse(body.replace(TOKEN_PLACEHOLDER, csrf.token(request)))


@router.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says; it is the same SVG."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, q: str = Query("", max_length=MAX_QUERY), page: int = Query(1, ge=1, le=1000),
                 mode: str = Query("hybrid", pattern="^(hybrid|lexical|vector)$")):
    return await in_search_thread(request, _search_page, request, q, page, mode)


def _search_page(request: Request, q: str, page: int, mode: str) -> HTMLResponse:
    radar = request.app.state.radar
    size = radar.settings.page_size
    results = radar.search.search(q, limit=size, offset=(page - 1) * size, mode=mode) if q.strip() else None
    return render(request, "search.html", {"q": q, "results": results, "page": page,
                                           "has_next": bool(results and results.more), "mode": mode})


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse)
async def paper(request: Request, paper_id: str):
    return await in_search_thread(request, paper_page, request, paper_id)


def paper_page(request: Request, paper_id: str) -> HTMLResponse:
    radar = request.app.state.radar
    # The paper, its listing and its similar papers, kept until the store changes; the vectors'
    # version is in the key, so a paper's neighbours are found again once this process sees the
    # papers just committed embedded (they reach the vectors after the store).
    vectors = radar.vectors.version if radar.vectors is not None else 0
    found = request.app.state.pages.data(request, ("paper", paper_id, vectors), lambda: _paper_data(radar, paper_id))
    if found is None:
        raise HTTPException(404, f"No paper with id {paper_id!r}.")
    p, listing, similar = found

    def context(voted: bool) -> dict:
        return {"paper": p, "abstract_html": highlight.mark(p.abstract, highlight.matcher([])), "similar": similar,
                "listing": listing, "voted": voted}

    account = current_account(request)
    if account is None:
        return render_cached(request, "paper.html", lambda: context(False), vary=vectors)
    return render(request, "paper.html", context(bool(listing and radar.store.voted(account.id, [p.id]))))


def _paper_data(radar, paper_id: str):
    p = radar.store.get_paper(paper_id)
    if p is None:
        return None
    return p, radar.store.get_listing(p.id), radar.search.similar(p, limit=8)
