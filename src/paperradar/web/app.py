"""The web application factory: one `Radar` per app, templates with autoescape, error pages.

Errors: pages answer with an HTML page and the right 4xx; `/api/...` answers `{"error": ...}`.
Nothing unexpected reaches a user as a traceback.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2
from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..config import Settings
from ..errors import UserError
from ..radar import Radar
from ..search.query import QueryError
from .api_limit import ApiLimiter
from .deps import search_limiter
from .page_cache import PageCache
from .middleware import ApiPolicy, HeadAsGet, PageHeaders, RequestLimits
from .api import MAX_QUERY
from . import api, api_community, feeds, health, routes_topics, pages, routes_auth, routes_community, routes_subscribe

HERE = Path(__file__).parent
API_DESCRIPTION = """Search, browse and subscribe to research papers.

Compatible with the Hugging Face Papers API where they overlap: `huggingface_hub`'s
`HfApi(endpoint=...)` (`list_daily_papers`, `list_papers`, `paper_info`, `read_paper`) and the
`hf papers` CLI work against this server. Errors are `{"error": "...", "status": N}` with a 4xx
status. Reads of `/api/` allow cross-origin requests and are rate-limited per client address
(429 with `Retry-After`). Atom feeds: `/feeds/daily.atom`, `/feeds/trending.atom`,
`/feeds/search.atom?q=`, `/feeds/category/{category}.atom`, `/feeds/author/{name}.atom`."""
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# Pages load only their own script and stylesheet; inline style attributes are allowed.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
log = logging.getLogger("paperradar.web")


def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # compiled once per process: no stat of each template file per render
    )
    return Jinja2Templates(env=env)


@asynccontextmanager
async def _following(app: FastAPI):
    """While the app serves, its Radar follows the store's change feed (docs/store.md): papers
    other processes commit become searchable here without a restart."""
    app.state.radar.follow()
    try:
        yield
    finally:
        app.state.radar.stop_following()


def create_app(settings: Settings, radar: Radar | None = None) -> FastAPI:
    # FastAPIOffline serves Swagger UI and ReDoc from files in its package: /docs works offline.
    app = FastAPIOffline(title="paperradar", version=__version__, description=API_DESCRIPTION,
                         static_url="/static-docs", lifespan=_following)
    app.state.settings = settings
    app.state.radar = radar or Radar(settings)
    app.state.secret = settings.secret_key(app.state.radar.store)
    app.state.templates = templates()
    app.state.pages = PageCache(app.state.radar.store)
    app.state.search_limiter = search_limiter(settings)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # A request is matched against each route in turn, a few microseconds each, so the busiest
    # come first (the JSON API, then the pages): routing /search took ~125 us, now ~50; a paper
    # page ~150, now ~60; the home page ~75, now ~30.
    app.include_router(api_community.router)  # before api: /api/papers/{id}/vote is not a paper id
    app.include_router(api.router)
    app.include_router(api.markdown_router)  # before the pages: /papers/{id}.md is not a paper id
    app.include_router(routes_community.router)  # before pages: /papers/date/... is not a paper id
    app.include_router(pages.router)
    app.include_router(feeds.router)
    app.include_router(routes_topics.api)
    app.include_router(routes_topics.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_subscribe.router)
    app.include_router(health.router)

    # Innermost, so a refusal gets the headers and cookie of any page; `error` is defined below.
    app.add_middleware(RequestLimits, respond=lambda request, status, message: error(request, status, message))
    app.add_middleware(HeadAsGet)
    app.add_middleware(ApiPolicy, settings=settings, limiter=ApiLimiter(
        app.state.radar.store, settings.api_rate_limit, settings.api_rate_window_s))
    app.add_middleware(PageHeaders, headers=SECURITY_HEADERS, csp=CSP,
                       secure_cookie=settings.public_url.startswith("https://"))

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path.endswith(".md")

    def error(request: Request, status: int, message: str):
        if is_api(request):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        # the search box keeps what was typed, so a bad filter can be corrected in place
        q = request.query_params.get("q", "")[:MAX_QUERY] if request.url.path == "/search" else ""
        return pages.render(request, "error.html", {"status": status, "message": message, "q": q}, status=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = "There is nothing at this address."
        return error(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "body", "path"))
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return error(request, 400, "; ".join(parts) or "invalid request")

    @app.exception_handler(QueryError)
    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: Exception):
        return error(request, 400, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return error(request, 500, "Something went wrong on our side; the error has been logged.")

    return app
