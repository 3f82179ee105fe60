"""Topics and where each paper sits: written whole by a rebuild, extended by assignment.

A rebuild replaces every row in one transaction, so a fit killed midway leaves the previous
topics in place. Assignment adds the papers embedded since, against the stored centroids.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select

from .papers import bulk_insert
from .schema import embeddings, listings, paper_topics, papers, topic_map, topics

_CHUNK = 500


@dataclass
class Topic:
    id: int
    level: str  # area, topic
    parent_id: int | None
    name: str
    terms: list[str]
    size: int
    centroid: np.ndarray
    x: float
    y: float
    weekly: list[int]
    growth: float
    model: str
    built_at: dt.datetime
    children: list["Topic"] = field(default_factory=list)


def _topic(r) -> Topic:
    m = r._mapping
    return Topic(id=m["id"], level=m["level"], parent_id=m["parent_id"], name=m["name"], terms=json.loads(m["terms"]),
                 size=m["size"], centroid=np.frombuffer(m["centroid"], dtype=np.float32), x=m["x"], y=m["y"],
                 weekly=json.loads(m["weekly"]), growth=m["growth"], model=m["model"], built_at=m["built_at"])


def topic_row(t: Topic) -> dict:
    return {"id": t.id, "level": t.level, "parent_id": t.parent_id, "name": t.name, "terms": json.dumps(t.terms),
            "size": t.size, "centroid": np.asarray(t.centroid, dtype=np.float32).tobytes(), "x": float(t.x),
            "y": float(t.y), "weekly": json.dumps([int(c) for c in t.weekly]), "growth": float(t.growth),
            "model": t.model, "built_at": t.built_at}


def replace(conn: Connection, new_topics: list[Topic], points: list[dict]) -> None:
    """Every topic and paper position, replacing the previous fit (one transaction)."""
    conn.execute(delete(paper_topics))
    conn.execute(delete(topics))
    conn.execute(delete(topic_map))
    if new_topics:
        conn.execute(insert(topics), [topic_row(t) for t in new_topics])
    if points:
        bulk_insert(conn, paper_topics, points)


def save_map(conn: Connection, meta: bytes, blob: bytes, now: dt.datetime) -> None:
    conn.execute(delete(topic_map))
    conn.execute(insert(topic_map).values(id=1, saved_at=now, meta=meta, points=blob))


def load_map(conn: Connection) -> tuple[dt.datetime, bytes, bytes] | None:
    row = conn.execute(select(topic_map.c.saved_at, topic_map.c.meta, topic_map.c.points)).first()
    return (row[0], bytes(row[1]), bytes(row[2])) if row else None


def map_saved_at(conn: Connection) -> dt.datetime | None:
    return conn.execute(select(topic_map.c.saved_at)).scalar()


def add_points(conn: Connection, points: list[dict]) -> None:
    if points:
        bulk_insert(conn, paper_topics, points)


def all_topics(conn: Connection) -> list[Topic]:
    return [_topic(r) for r in conn.execute(select(topics).order_by(topics.c.id))]


def members(conn: Connection) -> dict[int, set[str]]:
    """{topic id: its papers}: what a refit matches its new clusters against, to keep ids."""
    out: dict[int, set[str]] = {}
    for pid, tid in conn.execute(select(paper_topics.c.paper_id, paper_topics.c.topic_id)):
        out.setdefault(tid, set()).add(pid)
    return out


def points(conn: Connection) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(paper ids, (n, 2) float32 positions, topic ids) of every placed paper, in a stable order."""
    q = (select(paper_topics.c.paper_id, paper_topics.c.x, paper_topics.c.y, paper_topics.c.topic_id)
         .order_by(paper_topics.c.topic_id, paper_topics.c.paper_id))
    # plain floats and ints need no conversion per row: the driver's rows go straight to numpy
    rows = conn.exec_driver_sql(str(q.compile(dialect=conn.dialect))).fetchall()
    if not rows:
        return [], np.zeros((0, 2), np.float32), np.zeros(0, np.int32)
    ids, xs, ys, tids = zip(*rows)
    return list(ids), np.column_stack([xs, ys]).astype(np.float32), np.array(tids, dtype=np.int32)


def version(conn: Connection) -> tuple:
    """What changes whenever the topics change (only a rebuild writes them): a cache key."""
    return tuple(conn.execute(select(func.count(), func.max(topics.c.built_at))).first())


def papers_of(conn: Connection, topic_id: int, limit: int, newest: bool = False) -> list[str]:
    """A topic's papers: closest to its centre first, or newest first (by listing or v1 day)."""
    q = select(paper_topics.c.paper_id).where(paper_topics.c.topic_id == topic_id)
    if newest:
        q = (q.join(papers, papers.c.id == paper_topics.c.paper_id)
             .order_by(papers.c.published.desc().nulls_last(), papers.c.first_seen_at.desc()))
    else:
        q = q.order_by(paper_topics.c.similarity.desc())
    return list(conn.execute(q.limit(limit)).scalars())


def topic_of(conn: Connection, paper_id: str) -> int | None:
    return conn.execute(select(paper_topics.c.topic_id).where(paper_topics.c.paper_id == paper_id)).scalar()


def unplaced(conn: Connection, model: str) -> list[str]:
    """Papers embedded by `model` that no topic holds yet."""
    # NOT EXISTS, an anti-join: PostgreSQL runs `NOT IN (subquery)` as a nested loop once the
    # subquery outgrows work_mem (a million papers' start-up ran for hours).
    placed = select(paper_topics.c.paper_id).where(paper_topics.c.paper_id == embeddings.c.paper_id)
    q = select(embeddings.c.paper_id).where(embeddings.c.model == model, ~placed.exists())
    return list(conn.execute(q).scalars())


def paper_days(conn: Connection, ids: list[str]) -> dict[str, dt.date]:
    """The day each paper counts for in weekly statistics: the day it was listed, else its first
    version's. Papers with neither are left out: the day we happened to ingest them says
    nothing about when the field wrote them."""
    out: dict[str, dt.date] = {}
    for i in range(0, len(ids), _CHUNK):
        q = (select(papers.c.id, listings.c.day, papers.c.published)
             .select_from(papers.outerjoin(listings, listings.c.paper_id == papers.c.id))
             .where(papers.c.id.in_(ids[i : i + _CHUNK])))
        for pid, day, published in conn.execute(q):
            if day or published:
                out[pid] = day or published
    return out



class TopicStore:
    """The store's topic methods, mixed into `Store`."""

    def replace_topics(self, new_topics: list[Topic], placed: list[dict], encoded_map: tuple[bytes, bytes],
                       now: dt.datetime) -> None:
        """A new fit and its encoded map, in one transaction."""
        with self.tx() as conn:
            replace(conn, new_topics, placed)
            save_map(conn, *encoded_map, now)

    def save_topic_map(self, encoded_map: tuple[bytes, bytes], now: dt.datetime) -> None:
        with self.tx() as conn:
            save_map(conn, *encoded_map, now)

    def topic_map(self) -> tuple[dt.datetime, bytes, bytes] | None:
        with self.engine.connect() as conn:
            return load_map(conn)

    def topic_map_saved_at(self) -> dt.datetime | None:
        with self.engine.connect() as conn:
            return map_saved_at(conn)

    def add_topic_points(self, placed: list[dict]) -> None:
        with self.tx() as conn:
            add_points(conn, placed)

    def topics(self) -> list[Topic]:
        with self.engine.connect() as conn:
            return all_topics(conn)

    def topic_members(self) -> dict[int, set[str]]:
        with self.engine.connect() as conn:
            return members(conn)

    def topics_version(self) -> tuple:
        with self.engine.connect() as conn:
            return version(conn)

    def topic_points(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        with self.engine.connect() as conn:
            return points(conn)

    def topic_papers(self, topic_id: int, limit: int = 10, newest: bool = False) -> list[str]:
        with self.engine.connect() as conn:
            return papers_of(conn, topic_id, limit, newest)

    def topic_of(self, paper_id: str) -> int | None:
        with self.engine.connect() as conn:
            return topic_of(conn, paper_id)

    def unplaced_papers(self, model: str) -> list[str]:
        with self.engine.connect() as conn:
            return unplaced(conn, model)

    def paper_days(self, ids: list[str]) -> dict[str, dt.date]:
        with self.engine.connect() as conn:
            return paper_days(conn, ids)
