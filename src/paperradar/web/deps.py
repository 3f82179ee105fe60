"""What handlers depend on, checked in one place: the radar, the signed-in member, admins."""

from __future__ import annotations

import functools
from typing import Annotated, Callable, TypeVar

import anyio
from fastapi import Depends, HTTPException, Request

from ..radar import Radar
from ..store import Account

SESSION_COOKIE = "paperradar_session"
T = TypeVar("T")


async def radar(request: Request) -> Radar:
    # async: FastAPI runs a plain function dependency on a thread of its own, one hop per request
    return request.app.state.radar


def search_limiter(settings) -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(settings.search_threads)


async def in_search_thread(request: Request, fn: Callable[..., T], *args) -> T:
    """`fn(*args)` on one of the process's few search threads (`Settings.search_threads`), the
    rest of the requests queueing in order: searches, paper pages, the lists and search feeds,
    the pages a busy server serves most. Searching, highlighting and rendering hold the GIL
    nearly all the time, so a thread per concurrent request (FastAPI's pool has 40) buys no
    parallelism and costs the hand-overs: 8 concurrent keyword searches took 7.6 ms of CPU
    each on 40 threads, 5.2 ms on one. With pgvector, the query's embedding and the database's
    walk still overlap the keyword search through the search service's own pool."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=request.app.state.search_limiter)


def current_account(request: Request) -> Account | None:
    """The member this browser is signed in as, read once per request."""
    if not hasattr(request.state, "account"):
        token = request.cookies.get(SESSION_COOKIE)
        request.state.account = request.app.state.radar.store.session_account(token) if token and len(token) < 200 else None
    return request.state.account


def signed_in(request: Request) -> Account:
    account = current_account(request)
    if account is None:
        raise HTTPException(401, "Sign in first: voting and submitting need an account.")
    return account


def admin(request: Request) -> Account:
    account = signed_in(request)
    if not account.is_admin:
        raise HTTPException(403, "Only an admin can do this.")
    return account


RadarDep = Annotated[Radar, Depends(radar)]
MaybeAccount = Annotated[Account | None, Depends(current_account)]
CurrentAccount = Annotated[Account, Depends(signed_in)]
AdminAccount = Annotated[Account, Depends(admin)]


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target from a form: only a path on this site (never //host or a scheme)."""
    target = (target or "").strip()
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 2000:
        return target
    return default
