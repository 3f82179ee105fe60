"""The daily lists, trending, votes and submissions as pages.

Each POST goes load → validate → store → 303 redirect; a refused submission re-renders its
form with a 400 and the reason. Votes also answer JSON for the page's script (no reload).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from ..community import daily, periods
from ..community.submit import SubmitRefused, submit as submit_paper
from ..store import now as utcnow
from . import csrf
from .deps import AdminAccount, CurrentAccount, MaybeAccount, RadarDep, current_account, in_search_thread, safe_next
from .pages import paper_page, render, render_cached

router = APIRouter(include_in_schema=False)

SortQuery = Query("votes", max_length=16, description="votes (default), trending or new")
PageQuery = Query(1, ge=1, le=10_000)


def _list_page(request: Request, radar, account, period, sort: str, page: int, *, title: str | None = None,
               window: str | None = None, now: dt.datetime | None = None) -> HTMLResponse:
    """A list as every visitor sees it, kept until the store changes (web/page_cache.py), with
    a member's own votes marked on a copy."""
    now = now or minute(utcnow())
    view = cached_view(request, radar, period, sort=sort, now=now, page=page, size=radar.settings.page_size,
                       with_calendar=window is None)
    context = {"view": view, "title": title or view.period.label, "window": window, "base": request.url.path}
    if account is None:
        return render_cached(request, "daily.html", lambda: context, vary=now if sort == "trending" else now.date())
    voted = radar.store.voted(account.id, [e.paper.id for e in view.entries])
    view = replace(view, entries=[replace(e, voted=e.paper.id in voted) for e in view.entries])
    return render(request, "daily.html", {**context, "view": view})


def cached_view(request: Request, radar, period, *, sort: str, now: dt.datetime, page: int, size: int,
                submitter: str | None = None, with_calendar: bool = False) -> daily.DayView:
    """`daily.view` as every visitor sees it (no one's votes marked), kept until the store
    changes (web/page_cache.py). Shared: copy it before changing anything."""
    # Only trending moves with the clock (its ages); the other sorts are kept for the day.
    key = ("list", period, sort, page, size, submitter, with_calendar, now if sort == "trending" else now.date())
    return request.app.state.pages.data(request, key, lambda: daily.view(
        radar.store, period, sort=sort, now=now, page=page, size=size, submitter=submitter,
        ranking=daily.Ranking.from_settings(radar.settings), with_calendar=with_calendar))


def latest_period(request: Request, radar, now: dt.datetime):
    return request.app.state.pages.data(request, ("latest", now.date()),
                                        lambda: daily.latest_period(radar.store, now.date()))


def minute(now: dt.datetime) -> dt.datetime:
    """The moment lists are measured at, to the minute: trending's ages move that slowly, and a
    list derived once serves the minute's requests."""
    return now.replace(second=0, microsecond=0)


# The lists run on the search threads, as searches and paper pages do (deps.in_search_thread):
# on FastAPI's 40 request threads, 64 connections halved the home page's req/s (2,200 at 8)
# and its p99 grew 25x, the threads taking turns at Python's lock.
@router.get("/", response_class=HTMLResponse)
async def home(request: Request, sort: str = SortQuery, page: int = PageQuery):
    """The latest day that has papers."""
    return await in_search_thread(request, _home, request, sort, page)


def _home(request: Request, sort: str, page: int) -> HTMLResponse:
    radar, now = request.app.state.radar, minute(utcnow())
    return _list_page(request, radar, current_account(request), latest_period(request, radar, now),
                      daily.check_sort(sort), page, now=now)


@router.get("/papers/go")
def go(date: str = Query("", max_length=40)):
    """The date picker's target (a plain GET form): redirect to that day's list."""
    day = periods.parse_day(date)
    return RedirectResponse(f"/papers/date/{day.isoformat()}", status_code=303)


@router.get("/papers/{kind}/{slug}", response_class=HTMLResponse)
async def period_list(request: Request, kind: str, slug: str, sort: str = SortQuery, page: int = PageQuery):
    if kind not in periods.KINDS:  # an old-style arXiv id with its slash: hep-th/9901001
        return await in_search_thread(request, paper_page, request, f"{kind}/{slug}")
    return await in_search_thread(request, _period_list, request, periods.parse(kind, slug), sort, page)


def _period_list(request: Request, period, sort: str, page: int) -> HTMLResponse:
    return _list_page(request, request.app.state.radar, current_account(request), period, daily.check_sort(sort), page)


@router.get("/trending", response_class=HTMLResponse)
async def trending_page(request: Request, window: str = Query("week", max_length=8), page: int = PageQuery):
    return await in_search_thread(request, _trending, request, window, page)


def _trending(request: Request, window: str, page: int) -> HTMLResponse:
    radar, now = request.app.state.radar, minute(utcnow())
    period = request.app.state.pages.data(request, ("window", window, now), lambda: daily.window(radar.store, window, now))
    title = "Trending today" if window == "day" else f"Trending this {window}"
    return _list_page(request, radar, current_account(request), period, "trending", page, title=title, window=window,
                      now=now)


@router.post("/papers/{paper_id:path}/vote")
def vote(request: Request, radar: RadarDep, paper_id: str, value: str = Form("1"), next: str = Form("/"),
         csrf_token: str = Form("")):
    """Vote (value=1) or take the vote back (value=0). Without a session: to the sign-in page."""
    csrf.verify(request, csrf_token or request.headers.get("x-csrf-token"))
    account = current_account(request)
    wants_json = "application/json" in request.headers.get("accept", "")
    if account is None:
        if wants_json:
            raise HTTPException(401, "Sign in to vote.")
        return RedirectResponse(f"/login?next={safe_next(next)}", status_code=303)
    listing = cast_vote(radar, account, paper_id, value)
    if wants_json:
        return JSONResponse({"id": listing.paper_id, "votes": listing.points, "voted": value == "1"})
    return RedirectResponse(safe_next(next), status_code=303)


def cast_vote(radar, account, paper_id: str, value: str):
    """Apply a vote; 404 for an unknown, unlisted or hidden paper. Returns the updated listing."""
    if value not in ("0", "1"):
        raise HTTPException(400, "value must be 1 (vote) or 0 (take the vote back)")
    paper = radar.store.get_paper(paper_id)
    listing = radar.store.get_listing(paper.id) if paper else None
    if listing is None or listing.hidden:
        raise HTTPException(404, f"No listed paper with id {paper_id[:80]!r}.")
    radar.store.set_vote(account.id, paper.id, value == "1")
    return radar.store.get_listing(paper.id)


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, account: MaybeAccount):
    if account is None:
        return RedirectResponse("/login?next=/submit", status_code=303)
    return render(request, "submit.html", {"form": {}, "error": None})


@router.post("/submit", response_class=HTMLResponse)
def submit(request: Request, radar: RadarDep, account: CurrentAccount, paper: str = Form("", max_length=300),
           csrf_token: str = Form("")):
    csrf.verify(request, csrf_token)
    try:
        p = submit_paper(radar.store, radar.settings, account, paper, now=utcnow())
    except SubmitRefused as e:
        return render(request, "submit.html", {"form": {"paper": paper}, "error": str(e)}, status=400)
    radar.sync_indexes()  # searchable at once; one paper is quick to index
    return RedirectResponse(f"/papers/{p.id}", status_code=303)


@router.post("/admin/papers/{paper_id:path}/hide")
def hide(request: Request, radar: RadarDep, _admin: AdminAccount, paper_id: str, hidden: str = Form("1"),
         csrf_token: str = Form("")):
    csrf.verify(request, csrf_token)
    if not radar.store.hide_listing(paper_id, hidden == "1"):
        raise HTTPException(404, f"No listed paper with id {paper_id[:80]!r}.")
    return RedirectResponse(f"/papers/{paper_id}", status_code=303)
