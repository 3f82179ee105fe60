"""Stored embeddings: one float32 vector per paper and model, reusable by content hash."""

from __future__ import annotations

from typing import Iterator

import numpy as np
from sqlalchemy import Connection, and_, delete, insert, select

from .schema import embeddings, papers

_CHUNK = 500


def put(conn: Connection, model: str, rows: list[tuple[str, str, np.ndarray]]) -> None:
    """Store (paper_id, content_hash, vector) rows, replacing older vectors of those papers."""
    ids = [r[0] for r in rows]
    for i in range(0, len(ids), _CHUNK):
        conn.execute(delete(embeddings).where(and_(embeddings.c.model == model,
                                                   embeddings.c.paper_id.in_(ids[i:i + _CHUNK]))))
    if rows:
        conn.execute(insert(embeddings), [
            {"paper_id": pid, "model": model, "content_hash": h,
             "vector": np.asarray(v, dtype=np.float32).tobytes()} for pid, h, v in rows])


def by_hash(conn: Connection, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
    """Vectors already computed for these texts (by content hash), under any paper id."""
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(hashes), _CHUNK):
        q = select(embeddings.c.content_hash, embeddings.c.vector).where(
            and_(embeddings.c.model == model, embeddings.c.content_hash.in_(hashes[i:i + _CHUNK])))
        for h, blob in conn.execute(q):
            out[h] = np.frombuffer(blob, dtype=np.float32)
    return out


def current(conn: Connection, model: str, batch: int = 5000) -> Iterator[tuple[str, np.ndarray]]:
    """(paper_id, vector) for every live paper whose stored vector matches its current text."""
    last = ""
    while True:
        q = (select(papers.c.id, embeddings.c.vector)
             .join(embeddings, and_(embeddings.c.paper_id == papers.c.id, embeddings.c.model == model,
                                    embeddings.c.content_hash == papers.c.content_hash))
             .where(papers.c.withdrawn.is_(False), papers.c.id > last)
             .order_by(papers.c.id).limit(batch))
        rows = conn.execute(q).all()
        if not rows:
            return
        for pid, blob in rows:
            yield pid, np.frombuffer(blob, dtype=np.float32)
        last = rows[-1][0]


def get(conn: Connection, model: str, paper_id: str) -> np.ndarray | None:
    blob = conn.execute(select(embeddings.c.vector).where(
        and_(embeddings.c.model == model, embeddings.c.paper_id == paper_id))).scalar()
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)
