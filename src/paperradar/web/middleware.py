"""What wraps every request: bounded sizes, HEAD answered wherever GET is, the public API's
manners (CORS for reads, a per-client rate limit shared by every process: web/api_limit.py),
and the security headers and CSRF cookie of every response.

All plain ASGI classes: Starlette's `BaseHTTPMiddleware` (`@app.middleware("http")`) cost
about 0.25 ms of CPU per request each (bench/cpu_per_request.py), a tenth of a page's budget."""

from __future__ import annotations

from typing import Callable

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import limits
from . import csrf


class RequestLimits:
    """Refuse a query string over `max_query` bytes (414) and a body over `max_body` bytes (413),
    with a one-line message, before any handler parses them. No page or API call needs more (the
    largest form is a few KB), and without a bound one request can make a process hold anything.

    A declared Content-Length is judged before a byte of the body is read; a body sent in chunks
    is counted as it arrives and refused by the app's own error handling (an HTTPException from
    `receive`). `respond(request, status, message)` makes the refusal: the app's error page, or
    JSON under /api/.
    """

    def __init__(self, app: ASGIApp, respond: Callable[[Request, int, str], Response],
                 max_body: int = limits.REQUEST_BODY, max_query: int = limits.QUERY_STRING):
        self.app, self.respond, self.max_body, self.max_query = app, respond, max_body, max_query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = len(scope.get("query_string", b""))
        if query > self.max_query:
            await self._refuse(scope, receive, send, 414, f"the query string of {limits.size(query)} is over the "
                                                          f"limit of {limits.size(self.max_query)}")
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._refuse(scope, receive, send, 413, self._body_message(declared))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise HTTPException(413, self._body_message(None))  # its size is not known yet
            return message

        await self.app(scope, counted, send)

    def _body_message(self, length: int | None) -> str:
        of = f" of {limits.size(length)}" if length is not None else ""
        return f"the request body{of} is over the limit of {limits.size(self.max_body)}"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        response = self.respond(Request(scope, receive), status, message)
        response.headers["Connection"] = "close"  # the unread body is not worth reading to reuse it
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None


class HeadAsGet:
    """Answer HEAD as the GET of the same URL without its body (RFC 9110 §9.3.2), so every page,
    API call and feed takes HEAD and says what a GET would (status, type, length, ETag)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body"):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def cors_headers(scope: Scope, allowed: list[str]) -> dict[str, str]:
    """CORS for reads of /api/: any origin with `*`, else only the listed ones."""
    origin = _header(scope, b"origin")
    if not origin or not scope["path"].startswith("/api/"):
        return {}
    if "*" in allowed:
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Link, Retry-After, X-Did-You-Mean"}
    if origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Expose-Headers": "Link, Retry-After, X-Did-You-Mean"}
    return {}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _add_headers(message: Message, headers: dict[str, str]) -> None:
    """Add `headers` to a response start message, each unless the response set it already."""
    if headers:
        message.setdefault("headers", [])
        out = MutableHeaders(scope=message)
        for name, value in headers.items():
            out.setdefault(name, value)


class ApiPolicy:
    """Preflights, CORS headers and the per-client rate limit of `/api/` (429 with Retry-After).

    Plain ASGI rather than `@app.middleware("http")` (Starlette's BaseHTTPMiddleware), which
    costs a task, a stream and a response wrapper per request: about 0.25 ms of CPU each."""

    def __init__(self, app: ASGIApp, settings, limiter):
        self.app, self.settings, self.limiter = app, settings, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        s = self.settings
        cors = cors_headers(scope, s.cors_origins)
        if scope["method"] == "OPTIONS":
            response = Response(status_code=204, headers={**cors, "Access-Control-Allow-Methods": "GET, HEAD",
                                                          "Access-Control-Max-Age": "86400"})
            await response(scope, receive, send)
            return
        if s.api_rate_limit > 0:
            client = scope.get("client")
            ip = client[0] if client else "unknown"
            if not await self.limiter.allow(f"api-ip:{ip}"):
                message = (f"too many API requests from {ip}: at most {s.api_rate_limit} per "
                           f"{s.api_rate_window_s} s; try again later")
                response = JSONResponse({"error": message, "status": 429}, status_code=429,
                                        headers={**cors, "Retry-After": str(s.api_rate_window_s)})
                await response(scope, receive, send)
                return
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(message, cors)
            await send(message)

        await self.app(scope, receive, send_with_cors)


class PageHeaders:
    """Every response's security headers (CSP except on the API docs, whose Swagger UI brings
    its own scripts) and the CSRF cookie a page minted for a new browser (csrf.browser_value).
    Plain ASGI, as `ApiPolicy` and for the same reason."""

    def __init__(self, app: ASGIApp, headers: dict[str, str], csp: str, secure_cookie: bool):
        self.app, self.csp, self.secure_cookie = app, csp, secure_cookie
        self.headers = headers
        self.headers_csp = {**headers, "Content-Security-Policy": csp}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # what handlers' `request.state` writes to
        headers = self.headers if scope["path"].startswith(("/docs", "/redoc")) else self.headers_csp

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(message, headers)
                new = state.get("csrf_new")
                if new:
                    message["headers"].append((b"set-cookie", csrf.cookie_header(new, self.secure_cookie)))
            await send(message)

        await self.app(scope, receive, send_with_headers)
