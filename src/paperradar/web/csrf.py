"""CSRF protection for HTML forms: a per-browser random cookie plus an HMAC of it in each form.

The form field must equal HMAC(secret, cookie); an attacker can neither read the cookie nor
compute the HMAC without the data dir's secret, so a cross-site POST cannot carry a valid pair.
Endpoints authenticated by a signed token instead (RFC 8058 one-click unsubscribe) skip this.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request, Response

COOKIE = "paperradar_csrf"
FIELD = "csrf_token"


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


def set_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "csrf_new", None)
    if new:
        secure = request.app.state.settings.public_url.startswith("https://")  # behind https: never sent in clear
        response.set_cookie(COOKIE, new, httponly=True, samesite="lax", secure=secure, max_age=60 * 60 * 24 * 365)


def verify(request: Request, submitted: str | None) -> None:
    """Raise 403 unless the submitted form token matches this browser's cookie."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(_mac(request.app.state.secret, cookie), submitted):
        raise HTTPException(403, "This form has expired or was not sent from this site. Reload the page and try again.")
