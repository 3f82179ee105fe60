"""CSRF protection for HTML forms: a per-browser random cookie plus an HMAC of it in each form.

The form field must equal HMAC(secret, cookie); an attacker can neither read the cookie nor
compute the HMAC without the data dir's secret, so a cross-site POST cannot carry a valid pair.
Endpoints authenticated by a signed token instead (RFC 8058 one-click unsubscribe) skip this.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie

from fastapi import HTTPException, Request

COOKIE = "paperradar_csrf"
FIELD = "csrf_token"
MAX_AGE_S = 60 * 60 * 24 * 365


def _mac(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


def browser_value(request: Request) -> str:
    """The cookie value for this browser, creating one (set on the response by `set_cookie`)."""
    value = request.cookies.get(COOKIE) or getattr(request.state, "csrf_new", None)
    if not value:
        value = secrets.token_urlsafe(24)
        request.state.csrf_new = value
    return value


def token(request: Request) -> str:
    """The hidden-field value to put in a form rendered for this request."""
    return _mac(request.app.state.secret, browser_value(request))


def cookie_header(value: str, secure: bool) -> bytes:
    """The Set-Cookie value for a new browser's cookie (middleware.PageHeaders sends it when a
    page minted one); `secure` behind https, so it is never sent in clear."""
    cookie = SimpleCookie()
    cookie[COOKIE] = value
    morsel = cookie[COOKIE]
    morsel.update({"path": "/", "max-age": MAX_AGE_S, "httponly": True, "samesite": "lax"})
    if secure:
        morsel["secure"] = True
    return morsel.OutputString().encode("latin-1")


def verify(request: Request, submitted: str | None) -> None:
    """Raise 403 unless the submitted form token matches this browser's cookie."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(_mac(request.app.state.secret, cookie), submitted):
        raise HTTPException(403, "This form has expired or was not sent from this site. Reload the page and try again.")
