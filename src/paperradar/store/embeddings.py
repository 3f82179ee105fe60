"""Stored embeddings: one float32 vector per paper and model, reusable by content hash.

On PostgreSQL a row also carries the vector as pgvector's `vector` and the paper's filter key,
which is what `pgvector.py` searches (migration 0009).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from sqlalchemy import Connection, func, and_, select, text

from .db import dialect_insert
from .schema import embeddings, papers

_CHUNK = 500


def put(conn: Connection, model: str, rows: list[tuple[str, str, np.ndarray]]) -> None:
    """Store (paper_id, content_hash, vector) rows, replacing older vectors of those papers.

    A row that already holds this text's vector is left as it is: an index rebuild puts every
    paper's vector again, and on PostgreSQL each rewritten row is a new tuple to insert into the
    HNSW graph (a million papers' sync took hours instead of minutes).

    One upsert per row: two processes embedding the same new paper (two digest runs, an
    indexer and a digest run) both succeed, the later write wins (a delete-then-insert made
    the second fail with a duplicate key on PostgreSQL)."""
    # One row per paper per statement, in id order: two writers lock the rows in the same order
    # on PostgreSQL and cannot deadlock.
    rows = sorted({pid: (pid, h, v) for pid, h, v in rows}.values(), key=lambda r: r[0])
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from ..search.keys import paper_key
        from .pgvector import vector_text

        # Rows already holding these texts' vectors are dropped before their vectors are written
        # out as text (most of the cost of a rebuild's sync); the upsert's WHERE covers a writer
        # that stores one in between.
        held = {(pid, h, key) for pid, h, key in conn.execute(text(
            "SELECT paper_id, content_hash, key FROM embeddings WHERE model = :model AND paper_id = ANY(:ids) "
            "AND vec IS NOT NULL"), {"model": model, "ids": [pid for pid, _, _ in rows]})}
        rows = [r for r in rows if (r[0], r[1], paper_key(r[0])) not in held]
        if not rows:
            return
        conn.execute(text(
            "INSERT INTO embeddings (paper_id, model, content_hash, vector, key, vec) "
            "VALUES (:paper_id, :model, :content_hash, :vector, :key, CAST(:vec AS vector)) "
            "ON CONFLICT (paper_id, model) DO UPDATE SET content_hash = excluded.content_hash, "
            "vector = excluded.vector, key = excluded.key, vec = excluded.vec "
            "WHERE embeddings.content_hash <> excluded.content_hash OR embeddings.key IS DISTINCT FROM excluded.key "
            "OR embeddings.vec IS NULL"),
            [{"paper_id": pid, "model": model, "content_hash": h, "key": paper_key(pid),
              "vector": np.asarray(v, dtype=np.float32).tobytes(), "vec": vector_text(v)} for pid, h, v in rows])
        return
    stmt = dialect_insert(conn, embeddings)
    stmt = stmt.on_conflict_do_update(
        index_elements=[embeddings.c.paper_id, embeddings.c.model],
        set_={"content_hash": stmt.excluded.content_hash, "vector": stmt.excluded.vector},
        where=embeddings.c.content_hash != stmt.excluded.content_hash)
    conn.execute(stmt, [{"paper_id": pid, "model": model, "content_hash": h,
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


def counts(conn: Connection) -> dict[str, int]:
    """How many vectors the store keeps per model (embedding name)."""
    q = select(embeddings.c.model, func.count()).group_by(embeddings.c.model)
    return {model: n for model, n in conn.execute(q)}
