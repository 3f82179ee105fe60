"""What the topic pages, API and CLI show, read from the stored fit (nothing is computed per
request but a few dot products between a topic's centroid and the others)."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass

import numpy as np

from ..models import Paper
from ..store import Store, Topic
from . import cluster

SPARK_W, SPARK_H = 120, 28


@dataclass
class TopicPage:
    topic: Topic
    area: Topic | None
    top: list[Paper]
    newest: list[Paper]
    related: list[Topic]


_cache: dict[str, tuple] = {}  # store url -> (version, topics): read once per fit, not per request
_lock = threading.Lock()


def all_topics(store: Store) -> list[Topic]:
    """Every stored topic, read again only when a rebuild or an assignment changed them."""
    version = store.topics_version()
    with _lock:
        hit = _cache.get(store.url)
        if hit and hit[0] == version:
            return hit[1]
    found = store.topics()
    with _lock:
        _cache[store.url] = (version, found)
    return found


def fine_topics(store: Store) -> tuple[list[Topic], dict[int, Topic]]:
    """(fine topics by growth, areas by id)."""
    return by_growth(all_topics(store))


def page(store: Store, topic_id: int, *, papers: int = 8, related: int = 6) -> TopicPage | None:
    all_ = {t.id: t for t in all_topics(store)}
    topic = all_.get(topic_id)
    if topic is None:
        return None
    if topic.level == "area":  # an area's page lists its topics, and has no papers of its own
        near, ids, newest = [t for t in all_.values() if t.parent_id == topic.id], [], []
    else:
        others = [t for t in all_.values() if t.level == "topic" and t.id != topic.id]
        near = []
        if others:
            sims = np.vstack([t.centroid for t in others]) @ topic.centroid
            near = [others[i] for i in np.argsort(-sims)[:related]]
        ids = store.topic_papers(topic.id, papers)
        newest = store.topic_papers(topic.id, papers, newest=True)
    found = store.get_papers(ids + newest)
    return TopicPage(topic, all_.get(topic.parent_id) if topic.parent_id else None,
                     [found[i] for i in ids if i in found], [found[i] for i in newest if i in found], near)


def week_totals(fine: list[Topic]) -> list[int]:
    """All dated papers per week: the fine topics partition them."""
    return [sum(col) for col in zip(*(t.weekly for t in fine))] if fine else []


def shares(weekly: list[int], totals: list[int]) -> list[float]:
    """A topic's share of each week's new papers (0 for a week without papers)."""
    return [c / n if n else 0.0 for c, n in zip(weekly, totals)]


def sparkline(weekly: list[float], width: int = SPARK_W, height: int = SPARK_H) -> str:
    """SVG polyline points of a weekly series scaled to width × height (0 at the bottom)."""
    top = max(max(weekly, default=0), 1)
    step = width / max(len(weekly) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (c / top) * (height - 4):.1f}" for i, c in enumerate(weekly))


def enough_papers(store: Store, model: str) -> tuple[bool, int]:
    """(whether a fit is possible, embedded papers up to the MIN_PAPERS needed): pages ask this
    on every request until a first fit, so it stops counting as soon as the answer is known."""
    n = sum(1 for _ in itertools.islice(store.current_embeddings(model, batch=cluster.MIN_PAPERS), cluster.MIN_PAPERS))
    return n >= cluster.MIN_PAPERS, n


def topic_json(t: Topic, areas: dict[int, Topic] | None = None) -> dict:
    data = {"id": t.id, "level": t.level, "name": t.name, "terms": t.terms, "size": t.size,
            "growth": round(t.growth, 4), "weekly": t.weekly, "x": round(t.x, 5), "y": round(t.y, 5),
            "builtAt": t.built_at.isoformat() + "Z", "model": t.model}
    if t.parent_id is not None:
        data["areaId"] = t.parent_id
        if areas and t.parent_id in areas:
            data["area"] = areas[t.parent_id].name
    return data


def encode_map(fine: list[Topic], areas: dict[int, Topic], ids: list[str], xy: np.ndarray,
               topic_ids: np.ndarray) -> tuple[bytes, bytes]:
    """(the JSON of /api/map, the bytes of /api/map/points.bin): float32 x, y per paper
    (little-endian), then int32 each paper's index into `topics`."""
    meta = {
        "count": len(ids),
        "ids": ids,
        "areas": [topic_json(a) for a in areas.values()],
        "topics": [topic_json(t, areas) for t in fine],
        "points": "/api/map/points.bin",
        "format": "float32 x,y per paper (little-endian), then int32 index into topics per paper",
    }
    position = np.full(max([t.id for t in fine], default=0) + 1, -1, dtype="<i4")
    position[[t.id for t in fine]] = np.arange(len(fine))
    index = position[np.asarray(topic_ids, dtype=np.int64)] if len(topic_ids) else np.zeros(0, "<i4")
    blob = np.ascontiguousarray(xy, dtype="<f4").tobytes() + index.astype("<i4").tobytes()
    return json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode(), blob


def by_growth(topics: list[Topic]) -> tuple[list[Topic], dict[int, Topic]]:
    """(fine topics, fastest-growing first; areas by id) of a list of topics."""
    areas = {t.id: t for t in topics if t.level == "area"}
    fine = sorted((t for t in topics if t.level == "topic"), key=lambda t: (-t.growth, -t.size, t.id))
    return fine, areas
