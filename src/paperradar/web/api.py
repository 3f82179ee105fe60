"""The JSON API (OpenAPI docs at /docs). Shapes come from `views`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request

from ..views import hit_json, paper_json

router = APIRouter(prefix="/api", tags=["papers"])


@router.get("/papers/search", summary="Search papers (results in rank order)")
def search(request: Request,
           q: str = Query(..., description='Words, "phrases", -exclusions, author:, cat:, from:, to:'),
           limit: int = Query(20, ge=1, le=200),
           offset: int = Query(0, ge=0, le=10_000)) -> list[dict]:
    if not q.strip():
        raise HTTPException(400, "q is empty: give some words to search for")
    results = request.app.state.radar.search.search(q, limit=limit, offset=offset)
    return [hit_json(h) for h in results.hits]


@router.get("/papers/{paper_id:path}", summary="One paper")
def paper(request: Request, paper_id: str) -> dict:
    p = request.app.state.radar.store.get_paper(paper_id)
    if p is None:
        raise HTTPException(404, f"no paper with id {paper_id!r}")
    return paper_json(p, full=True)
