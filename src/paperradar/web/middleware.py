"""What wraps every request: bounded sizes, HEAD answered wherever GET is, and the public API's
manners (CORS for reads, a per-client rate limit kept in the store so every process shares it)."""

from __future__ import annotations

import datetime as dt
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import limits


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


def cors_headers(request: Request, allowed: list[str]) -> dict[str, str]:
    """CORS for reads of /api/: any origin with `*`, else only the listed ones."""
    origin = request.headers.get("origin")
    if not origin or not request.url.path.startswith("/api/"):
        return {}
    if "*" in allowed:
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Link, Retry-After"}
    if origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Expose-Headers": "Link, Retry-After"}
    return {}


async def api_policy(request: Request, call_next, settings, store) -> Response:
    """Preflights, CORS headers and the per-IP rate limit of `/api/` (429 with Retry-After)."""
    path = request.url.path
    if not path.startswith("/api/"):
        return await call_next(request)
    cors = cors_headers(request, settings.cors_origins)
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={**cors, "Access-Control-Allow-Methods": "GET, HEAD",
                                                  "Access-Control-Max-Age": "86400"})
    if settings.api_rate_limit > 0:
        ip = request.client.host if request.client else "unknown"
        window = dt.timedelta(seconds=settings.api_rate_window_s)
        if not await run_in_threadpool(store.hit_rate_limit, f"api-ip:{ip}", limit=settings.api_rate_limit,
                                       window=window):
            message = (f"too many API requests from {ip}: at most {settings.api_rate_limit} per "
                       f"{settings.api_rate_window_s} s; try again later")
            return JSONResponse({"error": message, "status": 429}, status_code=429,
                                headers={**cors, "Retry-After": str(settings.api_rate_window_s)})
    response = await call_next(request)
    for name, value in cors.items():
        response.headers.setdefault(name, value)
    return response
