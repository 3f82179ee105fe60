"""The JSON API (OpenAPI docs at /docs). Shapes come from `views`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request

from ..search.service import MODES
from ..views import hit_json, paper_json

router = APIRouter(prefix="/api", tags=["papers"])


@router.get("/papers/search", summary="Search papers (results in rank order)")
def search(request: Request,
           q: str = Query(..., description='Words, "phrases", -exclusions, author:, cat:, from:, to:'),
           limit: int = Query(20, ge=1, le=200),
           offset: int = Query(0, ge=0, le=10_000),
           mode: str = Query("hybrid", pattern="^(" + "|".join(MODES) + ")$",
                             description="hybrid (default), lexical (BM25) or vector (by meaning)")) -> list[dict]:
    if not q.strip():
        raise HTTPException(400, "q is empty: give some words to search for")
    results = request.app.state.radar.search.search(q, limit=limit, offset=offset, mode=mode)
    return [hit_json(h) for h in results.hits]


@router.get("/papers/{paper_id:path}/similar", summary="Papers similar in meaning (never the paper itself)")
def similar(request: Request, paper_id: str, limit: int = Query(10, ge=1, le=100)) -> list[dict]:
    radar = request.app.state.radar
    p = radar.store.get_paper(paper_id)
    if p is None:
        raise HTTPException(404, f"no paper with id {paper_id!r}")
    return [hit_json(h) for h in radar.search.similar(p, limit=limit)]


@router.get("/papers/{paper_id:path}/similar", summary="Papers similar in meaning (never the paper itself)")
def similar(request: Request, paper_id: str, limit: int = Query(10, ge=1, le=100)) -> list[dict]:
    radar = request.app.state.radar
    p = radar.store.get_paper(paper_id)
    if p is None:
        raise HTTPException(404, f"no paper with id {paper_id!r}")
    return [hit_json(h) for h in radar.search.similar(p, limit=limit)]


@router.get("/papers/{paper_id:path}", summary="One paper")
def paper(request: Request, paper_id: str) -> dict:
    p = request.app.state.radar.store.get_paper(paper_id)
    if p is None:
        raise HTTPException(404, f"no paper with id {paper_id!r}")
    return paper_json(p, full=True)



