"""Topics: the map (`/map`), rising topics (`/topics`), a topic's page, their JSON and feeds.

The map's data is what the topic job encoded and stored: `/api/map` gives the topics and the
papers' ids, and `/api/map/points.bin` the positions as little-endian float32 pairs followed by
int32 topic indexes (12 bytes a paper: 1.2 MB for 100,000); read once per save, kept in memory.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from ..store import Store
from ..topics import views
from .deps import RadarDep
from .feeds import answer, build
from .pages import render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["topics"])
_cache_lock = threading.Lock()
_map_cache: dict[str, tuple] = {}


def map_data(store: Store) -> tuple[bytes, bytes]:
    """(the map's JSON, its binary points) as the topic job stored them, kept in memory until
    the job saves a newer map."""
    saved_at = store.topic_map_saved_at()
    with _cache_lock:
        cached = _map_cache.get(store.url)
        if cached and cached[0] == saved_at:
            return cached[1], cached[2]
    stored = store.topic_map()
    if stored is None:
        raise HTTPException(404, "no map yet: run `paperradar topics rebuild`")
    with _cache_lock:
        _map_cache[store.url] = stored
    return stored[1], stored[2]


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, radar: RadarDep):
    fine, areas = views.fine_topics(radar.store)
    ok, n = (True, 0) if fine else views.enough_papers(radar.store, radar.active)
    return render(request, "map.html", {"has_topics": bool(fine), "can_build": ok, "embedded": n,
                                        "areas": sorted(areas.values(), key=lambda a: -a.size)})


@router.get("/topics", response_class=HTMLResponse)
def topics_page(request: Request, radar: RadarDep):
    fine, areas = views.fine_topics(radar.store)
    ok, n = (True, 0) if fine else views.enough_papers(radar.store, radar.active)
    return render(request, "topics.html", {"topics": fine, "areas": areas, "spark": views.sparkline,
                                           "shares": views.shares, "totals": views.week_totals(fine),
                                           "can_build": ok, "embedded": n})


@router.get("/topics/{topic_id}", response_class=HTMLResponse)
def topic_page(request: Request, radar: RadarDep, topic_id: int):
    found = views.page(radar.store, topic_id)
    if found is None:
        raise HTTPException(404, f"No topic {topic_id}: topic ids change only when a refit finds a new topic.")
    weekly = found.topic.weekly
    return render(request, "topic.html", {"p": found, "spark": views.sparkline, "peak": max(weekly or [0]) or 1,
                                          "subscribe_topic": " ".join(found.topic.terms[:3])})


@api.get("/topics", summary="Every topic, fastest-growing first")
def topics_json(radar: RadarDep) -> dict:
    fine, areas = views.fine_topics(radar.store)
    return {"areas": [views.topic_json(a) for a in areas.values()],
            "topics": [views.topic_json(t, areas) for t in fine]}


@api.get("/topics/{topic_id}", summary="One topic with its top and newest papers and related topics",
         responses={404: {"description": "No such topic"}})
def topic_json(radar: RadarDep, topic_id: int) -> dict:
    found = views.page(radar.store, topic_id)
    if found is None:
        raise HTTPException(404, f"no topic {topic_id}")
    return {**views.topic_json(found.topic), "top": [p.id for p in found.top], "newest": [p.id for p in found.newest],
            "related": [views.topic_json(t) for t in found.related]}


@api.get("/map", summary="The map: topics, areas and paper ids (positions in /api/map/points.bin)")
def map_json(radar: RadarDep) -> Response:
    return Response(map_data(radar.store)[0], media_type="application/json", headers={"Cache-Control": "no-cache"})


@api.get("/map/points.bin", summary="The map's positions: float32 x,y per paper, then int32 topic index")
def map_points(radar: RadarDep) -> Response:
    return Response(map_data(radar.store)[1], media_type="application/octet-stream",
                    headers={"Cache-Control": "no-cache"})


@router.get("/feeds/topic/{topic_id}.atom", summary="Atom feed of a topic's newest papers")
def topic_feed(request: Request, radar: RadarDep, topic_id: int):
    found = views.page(radar.store, topic_id, papers=50)
    if found is None or found.topic.level != "topic":
        raise HTTPException(404, f"no topic {topic_id}")
    base = radar.settings.public_url
    listings = radar.store.get_listings([p.id for p in found.newest])
    body, newest = build(f"paperradar: {found.topic.name}", f"{base}/feeds/topic/{topic_id}.atom",
                         f"{base}/topics/{topic_id}", [(p, listings.get(p.id)) for p in found.newest], base)
    return answer(request, body, newest)
