"""The dated lists, votes and submissions as JSON.

`GET /api/daily_papers` answers in the shape of the Hugging Face Daily Papers API. Votes and
submissions act for the signed-in member (the session cookie) and need the page's CSRF token
in an `X-CSRF-Token` header, as forms carry it in a field; every refusal is a 4xx
`{"error", "status"}`.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from ..community import daily, periods
from ..community.submit import SubmitRefused, submit as submit_paper
from ..errors import UserError
from ..store import now as utcnow
from ..views import listed_json
from . import csrf
from .api import BAD, NOT_FOUND, json_list, next_link
from .deps import CurrentAccount, RadarDep
from .routes_community import cached_view, cast_vote, latest_period, minute

router = APIRouter(prefix="/api", tags=["daily papers"])
SIGNED_IN = {401: {"description": "Not signed in (the session cookie is missing or expired)"},
             403: {"description": "The X-CSRF-Token header does not match this browser's CSRF cookie"}}


@router.get("/daily_papers", summary="Listed papers of a day, week or month (Hugging Face shape)", responses=BAD,
            response_model=list[dict])
def daily_papers(request: Request, response: Response, radar: RadarDep,
                 date: str | None = Query(None, max_length=10, description="YYYY-MM-DD (default: the latest day with papers)"),
                 week: str | None = Query(None, max_length=8, description="ISO week, YYYY-Www"),
                 month: str | None = Query(None, max_length=7, description="YYYY-MM"),
                 submitter: str | None = Query(None, max_length=128, description="only papers this member (handle) or upstream submitter listed; without a date: over every day"),
                 sort: str = Query("votes", max_length=16, description="votes (default), trending, new; Hugging Face's publishedAt means new"),
                 p: int = Query(0, ge=0, le=10_000, description="page, from 0"),
                 limit: int = Query(50, ge=1, le=100)) -> JSONResponse:
    chosen = [(k, v) for k, v in (("date", date), ("week", week), ("month", month)) if v]
    if len(chosen) > 1:
        raise UserError("give one of date, week or month")
    sort = "new" if sort == "publishedAt" else sort
    now = minute(utcnow())
    if chosen:
        period = periods.parse(*chosen[0])
    elif submitter:
        period = periods.Period("date", dt.date(1, 1, 1), dt.date(9999, 12, 31))
    else:
        period = latest_period(request, radar, now)
    view = cached_view(request, radar, period, sort=daily.check_sort(sort), now=now, page=p + 1, size=limit,
                       submitter=submitter)
    if view.has_next:
        next_link(request, response, p=p + 1)
    return json_list([listed_json(e) for e in view.entries], response)


@router.get("/trending", summary="Trending papers of the last day, week or month", responses=BAD,
            response_model=list[dict])
def trending(request: Request, radar: RadarDep, window: str = Query("week", max_length=8, description="day, week or month"),
             limit: int = Query(20, ge=1, le=100)) -> JSONResponse:
    now = minute(utcnow())
    period = request.app.state.pages.data(request, ("window", window, now), lambda: daily.window(radar.store, window, now))
    view = cached_view(request, radar, period, sort="trending", now=now, page=1, size=limit)
    return json_list([listed_json(e) for e in view.entries])


@router.post("/papers/{paper_id:path}/vote", summary="Vote for a listed paper (value=1) or take the vote back (value=0)",
             responses={**SIGNED_IN, **NOT_FOUND})
def vote(request: Request, radar: RadarDep, account: CurrentAccount, paper_id: str,
         value: int = Query(1, ge=0, le=1), x_csrf_token: str = Header("")) -> dict:
    csrf.verify(request, x_csrf_token)
    listing = cast_vote(radar, account, paper_id, str(value))
    return {"id": listing.paper_id, "votes": listing.points, "voted": value == 1}


@router.post("/submit", summary="Submit an arXiv paper to today's list", status_code=201,
             responses={**SIGNED_IN, 400: {"description": "Refused: not an arXiv id, unknown to arXiv, too old, "
                                                          "already listed, or the member's daily limit reached"}})
def submit(request: Request, radar: RadarDep, account: CurrentAccount,
           paper: str = Body(..., embed=True, max_length=300, description="arXiv id or abs/pdf URL"),
           x_csrf_token: str = Header("")) -> dict:
    csrf.verify(request, x_csrf_token)
    try:
        p = submit_paper(radar.store, radar.settings, account, paper, now=utcnow())
    except SubmitRefused as e:
        raise UserError(str(e)) from None
    radar.sync_indexes()
    return listed_json(daily.Entry(p, radar.store.get_listing(p.id), voted=True))
