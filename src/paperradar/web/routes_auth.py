"""Passwordless sign-in: ask for a link, open it, choose a handle the first time, sign out.

The answer to "send me a link" is the same page whatever the address (known, unknown, not
admitted, rate-limited), so nobody can learn who has an account. Opening a link shows a
button (mail scanners follow GETs); the POST spends it, so each link works once.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ..community import members
from ..digest.interests import InvalidInput, normalize_email
from ..errors import UserError
from ..store import HandleTaken
from ..tokens import BadToken, ExpiredToken
from . import csrf
from .deps import SESSION_COOKIE, RadarDep, current_account, safe_next
from .pages import render
from .routes_subscribe import _send, _service

router = APIRouter(include_in_schema=False)

IP_LIMIT = (20, dt.timedelta(hours=1))  # sign-in requests per client address
EMAIL_LIMIT = (5, dt.timedelta(hours=1))  # sign-in emails to one address


def _links(request: Request) -> members.LoginLinks:
    service = _service(request)
    return members.LoginLinks(service.links.signer, request.app.state.settings.public_url)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = Query("/", max_length=2000)):
    return render(request, "login.html", {"next": safe_next(next), "error": None, "email": ""})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, radar: RadarDep, background: BackgroundTasks, email: str = Form("", max_length=400),
          next: str = Form("/", max_length=2000), csrf_token: str = Form("")):
    csrf.verify(request, csrf_token)
    try:
        address = normalize_email(email)
    except InvalidInput as e:
        return render(request, "login.html", {"next": safe_next(next), "error": str(e), "email": email}, status=400)
    store, settings = radar.store, radar.settings
    ip = request.client.host if request.client else "unknown"
    allowed = (store.hit_rate_limit(f"login-ip:{ip}", limit=IP_LIMIT[0], window=IP_LIMIT[1])
               and store.hit_rate_limit(f"login-email:{address}", limit=EMAIL_LIMIT[0], window=EMAIL_LIMIT[1]))
    if allowed and members.admits(settings.signup, address, store.get_account_by_email(address)):
        account, _ = store.ensure_account(address)
        message = _service(request).notices.sign_in(address, _links(request).url(account), settings.login_link_minutes)
        background.add_task(_send, _service(request), message)
    return render(request, "login_sent.html", {"email": address})


def _link_account(request: Request, radar, token: str):
    """The account a sign-in link names, or a page (400) saying why not and offering a new one."""
    try:
        account_id, nonce = _links(request).read(token)
    except ExpiredToken:
        return None, _bad_link(request, "This sign-in link has expired.")
    except BadToken:
        return None, _bad_link(request, "This sign-in link is not valid.")
    account = radar.store.get_account(account_id)
    if account is None or account.status != "active" or account.login_nonce != nonce:
        return None, _bad_link(request, "This sign-in link has been used already.")
    return (account, nonce), None


def _bad_link(request: Request, why: str) -> HTMLResponse:
    return render(request, "login.html", {"next": "/", "email": "", "error": f"{why} Ask for a new one below."},
                  status=400)


@router.get("/login/verify", response_class=HTMLResponse)
def verify_page(request: Request, radar: RadarDep, t: str = Query("", max_length=2000), next: str = Query("/")):
    found, problem = _link_account(request, radar, t)
    if problem:
        return problem
    account, _ = found
    return render(request, "login_verify.html", {"token": t, "who": account, "error": None, "handle": "",
                                                 "next": safe_next(next)})


@router.post("/login/verify", response_class=HTMLResponse)
def verify(request: Request, radar: RadarDep, t: str = Form("", max_length=2000), handle: str = Form("", max_length=64),
           next: str = Form("/", max_length=2000), csrf_token: str = Form("")):
    csrf.verify(request, csrf_token)
    found, problem = _link_account(request, radar, t)
    if problem:
        return problem
    account, nonce = found
    if account.handle is None:
        try:  # the handle first: a taken one must not spend the link
            radar.store.set_handle(account.id, members.check_handle(handle))
        except (UserError, HandleTaken) as e:
            return render(request, "login_verify.html", {"token": t, "who": account, "error": str(e),
                                                         "handle": handle, "next": safe_next(next)}, status=400)
    if not radar.store.use_login(account.id, nonce):
        return _bad_link(request, "This sign-in link has been used already.")
    settings = radar.settings
    session = radar.store.create_session(account.id, dt.timedelta(days=settings.session_days))
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax", path="/",
                        secure=settings.public_url.startswith("https://"), max_age=settings.session_days * 86400)
    return response


@router.post("/logout")
def logout(request: Request, radar: RadarDep, csrf_token: str = Form("")):
    csrf.verify(request, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token and current_account(request) is not None:
        radar.store.end_session(token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
