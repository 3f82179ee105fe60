"""What wraps every request: HEAD answered wherever GET is, and the public API's manners (CORS
for reads, a per-client rate limit kept in the store so every process shares it)."""

from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
