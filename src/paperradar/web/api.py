"""The JSON API for papers (OpenAPI docs at /docs), compatible with the Hugging Face Papers API
as `huggingface_hub` calls it: `/api/papers/search` (q optional), `/api/papers/{id}`, and the
paper as Markdown at `/papers/{id}.md`. Shapes come from `views`.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pydantic_core
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ..search.service import MODES
from ..views import hit_json, paper_json
from .deps import RadarDep, in_search_thread
from .markdown import paper_markdown

router = APIRouter(prefix="/api", tags=["papers"])
markdown_router = APIRouter(tags=["papers"])

MAX_QUERY = 1000  # characters; a longer q is refused with a 400 rather than searched
NOT_FOUND = {404: {"description": "No paper with this id", "content": {"application/json": {
    "example": {"error": "no paper with id '1234.56789'", "status": 404}}}}}
BAD = {400: {"description": "A parameter is out of range or malformed", "content": {"application/json": {
    "example": {"error": "limit: Input should be greater than or equal to 1", "status": 400}}}}}


def next_link(request: Request, response: Response, **changes) -> None:
    """`Link: <...>; rel="next"`: the same request with the next page's parameters."""
    params = {**request.query_params, **{k: str(v) for k, v in changes.items()}}
    response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'


class _ListResponse(JSONResponse):
    def render(self, content) -> bytes:
        # pydantic-core's encoder (Rust; FastAPI installs it) writes the same JSON as the
        # standard library's, 8x faster: 36 against 272 us for 20 search hits with abstracts.
        # A NaN would be null rather than a 500 (the standard library refuses it).
        return pydantic_core.to_json(content, inf_nan_mode="null")


def json_list(items: list[dict], response: Response | None = None) -> JSONResponse:
    """`items` as the response, with the headers a route set on its `response` parameter.

    A route that returns a list lets FastAPI validate and serialize it before encoding: for 20
    hits that took 0.38-0.55 ms against 0.20-0.39 ms for the JSON alone (in-process), of a
    keyword search's ~3-4 ms. A returned Response is sent as it is; the route's
    `response_model` still documents the shape."""
    out = _ListResponse(items)
    if response is not None:
        out.headers.update({k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")})
    return out


@router.get("/papers/search", summary="Search papers, best first (no q: the newest papers)", responses=BAD,
            response_model=list[dict])
async def search(request: Request, response: Response, radar: RadarDep,
                 q: str = Query("", max_length=MAX_QUERY, description='Words, "phrases", -exclusions, author:, cat:, from:, to:'),
                 limit: int = Query(20, ge=1, le=200),
                 offset: int = Query(0, ge=0, le=10_000),
                 mode: str = Query("hybrid", pattern="^(" + "|".join(MODES) + ")$",
                                   description="hybrid (default), lexical (BM25) or vector (by meaning)")) -> JSONResponse:
    return await in_search_thread(request, _search, request, response, radar, q, limit, offset, mode)


def _search(request: Request, response: Response, radar, q: str, limit: int, offset: int, mode: str) -> JSONResponse:
    if not q.strip():
        papers = radar.store.latest_papers(limit + 1, offset)
        listings = _listings(request, radar, [p.id for p in papers])
        if len(papers) > limit:
            next_link(request, response, offset=offset + limit)
        return json_list([paper_json(p, listing=listings.get(p.id)) for p in papers[:limit]], response)
    results = radar.search.search(q, limit=limit, offset=offset, mode=mode)
    if results.suggestion:
        # A header, not a field: Hugging Face clients parse the body as a list of papers.
        # Percent-encoded UTF-8, as a header carries only ASCII safely.
        response.headers["X-Did-You-Mean"] = quote(results.suggestion.query, safe="")
    hits = results.hits
    if results.more:
        next_link(request, response, offset=offset + limit)
    listings = _listings(request, radar, [h.paper.id for h in hits])
    return json_list([hit_json(h, listings.get(h.paper.id)) for h in hits], response)


def _listings(request: Request, radar, paper_ids: list[str]) -> dict:
    """The listings of a result page's papers, kept by the process until the store changes."""
    return request.app.state.pages.many(request, "listing", paper_ids, radar.store.get_listings)


@router.get("/papers/{paper_id:path}/similar", summary="Papers similar in meaning (never the paper itself)",
            responses=NOT_FOUND, response_model=list[dict])
async def similar(request: Request, radar: RadarDep, paper_id: str, limit: int = Query(10, ge=1, le=100)) -> JSONResponse:
    return await in_search_thread(request, _similar, radar, paper_id, limit)


def _similar(radar, paper_id: str, limit: int) -> JSONResponse:
    p = _paper(radar, paper_id)
    hits = radar.search.similar(p, limit=limit)
    listings = radar.store.get_listings([h.paper.id for h in hits])
    return json_list([hit_json(h, listings.get(h.paper.id)) for h in hits])


@router.get("/papers/{paper_id:path}", summary="One paper (by paperradar id or arXiv id)", responses=NOT_FOUND)
def paper(radar: RadarDep, paper_id: str) -> dict:
    p = _paper(radar, paper_id)
    return paper_json(p, full=True, listing=radar.store.get_listing(p.id))


@markdown_router.get("/papers/{paper_id:path}.md", summary="One paper as Markdown", response_class=PlainTextResponse,
                     responses={**NOT_FOUND, 200: {"content": {"text/markdown": {}}}})
def paper_md(radar: RadarDep, paper_id: str) -> PlainTextResponse:
    p = _paper(radar, paper_id)
    text = paper_markdown(p, radar.store.get_listing(p.id), radar.settings.public_url)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


def _paper(radar, paper_id: str):
    p = radar.store.get_paper(paper_id[:200])
    if p is None:
        raise HTTPException(404, f"no paper with id {paper_id[:80]!r}")
    return p
