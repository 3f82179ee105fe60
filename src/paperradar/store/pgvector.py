"""Vector search inside PostgreSQL (pgvector): the SQL behind `search/pgvectors.py`.

On PostgreSQL each `embeddings` row also holds its vector as pgvector's `vector` (`vec`, added
by migration 0009) and the paper's filter `key` (`search/keys.paper_key`). Every process then
searches one shared index instead of keeping its own files. Per model, an HNSW index over the
cosine distance is created the first time the model is used (`ensure_index`): a partial
expression index, `(vec::vector(DIM)) vector_cosine_ops WHERE model = '...'`, because one table
holds models of different dimensions. Queries repeat that expression so the planner uses it.

- unfiltered nearest neighbours walk the HNSW graph with `hnsw.ef_search` candidates (at least
  EF_SEARCH, more for a deeper k): recall@10 against exact search is in tests/test_pgvectors.py;
- filtered search (the keys of the papers that pass a query's filters) scores those rows exactly,
  with the unindexed expression, so no match is lost to the graph walk;
- `plan_cache_mode = force_custom_plan`: psycopg prepares a statement after a few runs, and a
  generic plan cannot prove `model = $1` implies the partial index's predicate.

The writer of a model's vectors (the indexer) takes a session advisory lock (`writer_lock`), so
among all processes one embeds the new papers while the others find the work done.
"""

from __future__ import annotations

import hashlib
import re
import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from sqlalchemy import Connection, Engine, text

from .db import advisory_lock

EF_SEARCH = 200  # HNSW candidates per search (pgvector's default: 40); recall@10 0.914 at 100, 0.988 at 200 (tests/test_pgvectors.py)
EF_MAX = 1000  # pgvector's ceiling for hnsw.ef_search; deeper searches are cut to it
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._/@+-]{1,128}$")  # it appears in DDL, which takes no parameters
_LOCK_BASE = 0x70617065_72100000  # + a hash of the model: its writer lock
POLL_S = 0.05


def vector_text(v) -> str:
    """pgvector's text form of a vector, '[0.1,0.2,...]' (each float32 exactly)."""
    return "[" + ",".join(map(repr, np.asarray(v, np.float32).reshape(-1).tolist())) + "]"


def _model_literal(model: str) -> str:
    if not _MODEL_NAME.match(model):
        raise ValueError(f"model name {model!r} cannot name a vector index (letters, digits and ._/@+- only)")
    return model


def _hash(model: str, dim: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{model}:{dim}".encode(), digest_size=4).digest(), "little")


def index_name(model: str, dim: int) -> str:
    return f"ix_embeddings_hnsw_{_hash(model, dim):08x}"


def ensure_index(conn: Connection, model: str, dim: int) -> bool:
    """Create the model's HNSW index unless it exists; True when it was created now. Under an
    advisory lock: two processes starting together would both try CREATE INDEX."""
    name = index_name(model, dim)
    if conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar():
        return False
    advisory_lock(conn, _LOCK_BASE + _hash(model, dim) + 1)
    if conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar():
        return False
    dim = int(dim)
    conn.exec_driver_sql(
        f"CREATE INDEX {name} ON embeddings USING hnsw ((vec::vector({dim})) vector_cosine_ops) "
        f"WHERE model = '{_model_literal(model)}'")
    return True


def nearest(conn: Connection, model: str, dim: int, query: np.ndarray, k: int,
            keys: np.ndarray | None = None, *, with_vectors: bool = False) -> list[tuple]:
    """[(paper id, cosine)] of the k nearest vectors of `model`, best first; with `keys`, exactly
    among the papers with those keys. `with_vectors`: [(paper id, cosine, vector)], so a
    caller that scores them again needs no second round trip."""
    if k <= 0:
        return []
    q = vector_text(query)
    dim = int(dim)
    rows = _nearest(conn, model, dim, q, k, keys, ", vector" if with_vectors else "")
    if with_vectors:
        return [(pid, score, np.frombuffer(blob, np.float32)) for pid, score, blob in rows]
    return rows


def _nearest(conn: Connection, model: str, dim: int, q: str, k: int, keys: np.ndarray | None, extra: str):
    if keys is not None:
        keys = [int(x) for x in np.asarray(keys, np.int64).reshape(-1)]
        if not keys:
            return []
        rows = _binary_rows(conn, (
            f"SELECT paper_id, 1 - (vec <=> CAST(%s AS vector)) AS score{extra} FROM embeddings "
            "WHERE model = %s AND key = ANY(%s::bigint[]) AND vec IS NOT NULL "
            "ORDER BY score DESC, paper_id LIMIT %s"), (q, model, keys, k))
        return [(pid, float(score), *rest) for pid, score, *rest in rows]
    conn.exec_driver_sql(f"SET LOCAL hnsw.ef_search = {min(EF_MAX, max(EF_SEARCH, int(k)))}")
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    rows = _binary_rows(conn, (
        f"SELECT paper_id, 1 - ((vec::vector({dim})) <=> CAST(%s AS vector({dim}))) AS score{extra} FROM embeddings "
        f"WHERE model = %s ORDER BY (vec::vector({dim})) <=> CAST(%s AS vector({dim})) LIMIT %s"),
        (q, model, q, min(k, EF_MAX)))
    return [(pid, float(score), *rest) for pid, score, *rest in rows]


def _binary_rows(conn: Connection, sql: str, params: tuple) -> list[tuple]:
    """Rows in PostgreSQL's binary format, on `conn`'s connection and transaction: a `vector`
    column's bytes come as stored, where the text format sends them hex-encoded, twice the bytes
    to encode and decode (~1.5 ms for 200 vectors of 384 floats at a million papers)."""
    with conn.connection.driver_connection.cursor(binary=True) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def exact_nearest(conn: Connection, model: str, query: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The true k nearest by a full scan (no index): what recall is measured against."""
    rows = conn.execute(text(
        "SELECT paper_id, 1 - (vec <=> CAST(:q AS vector)) AS score FROM embeddings "
        "WHERE model = :model AND vec IS NOT NULL ORDER BY score DESC, paper_id LIMIT :k"),
        {"q": vector_text(query), "model": model, "k": k})
    return [(pid, float(score)) for pid, score in rows]


def vectors_of(conn: Connection, model: str, ids: list[str]) -> dict[str, np.ndarray]:
    """{paper id: vector} of those ids that have one (read as float32 bytes: no parsing)."""
    out: dict[str, np.ndarray] = {}
    ids = list(ids)
    for i in range(0, len(ids), 500):
        rows = _binary_rows(conn, "SELECT paper_id, vector FROM embeddings WHERE model = %s AND paper_id = ANY(%s) "
                                  "AND vec IS NOT NULL", (model, ids[i:i + 500]))
        for pid, blob in rows:
            out[pid] = np.frombuffer(blob, np.float32)
    return out


def recent_vectors(conn: Connection, model: str, after: int, upto: int,
                   limit: int) -> list[tuple[str, int, np.ndarray | None]]:
    """[(paper id, feed position, vector)] of the papers that changed at positions in (`after`,
    `upto`], the newest `limit` of them; None for a paper without a vector of `model`
    (withdrawn, or not embedded)."""
    rows = _binary_rows(conn, (
        "SELECT p.id, p.seq, e.vector FROM (SELECT id, seq FROM papers WHERE seq > %s AND seq <= %s "
        "ORDER BY seq DESC LIMIT %s) AS p "
        "LEFT JOIN embeddings e ON e.paper_id = p.id AND e.model = %s AND e.vec IS NOT NULL"),
        (after, upto, limit, model))
    return [(pid, seq, None if blob is None else np.frombuffer(blob, np.float32)) for pid, seq, blob in rows]


def any_searchable(conn: Connection, model: str) -> bool:
    return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM embeddings WHERE model = :model AND vec IS NOT NULL)"),
                             {"model": model}).scalar())


def count(conn: Connection, model: str) -> int:
    return conn.execute(text("SELECT count(*) FROM embeddings WHERE model = :model AND vec IS NOT NULL"),
                        {"model": model}).scalar() or 0


def remove(conn: Connection, model: str, ids: list[str]) -> None:
    """Take papers out of the search (withdrawn): their rows go."""
    for i in range(0, len(ids), 500):
        conn.execute(text("DELETE FROM embeddings WHERE model = :model AND paper_id = ANY(:ids)"),
                     {"model": model, "ids": ids[i:i + 500]})


class WriterBusy(RuntimeError):
    """Another process kept the model's vectors locked longer than we would wait."""


@contextmanager
def writer_lock(engine: Engine, model: str, dim: int, wait_s: float) -> Iterator[None]:
    """Hold the model's writer lock (a session advisory lock on a connection of its own) for the
    block; WriterBusy after `wait_s` seconds of another process holding it."""
    key = _LOCK_BASE + _hash(model, dim)
    deadline = time.monotonic() + wait_s
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        while not conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar():
            if time.monotonic() >= deadline:
                raise WriterBusy(f"the vectors of {model} are being written by another process, which did not "
                                 f"finish within {wait_s:g} s (PAPERRADAR_INDEX_LOCK_WAIT_S)")
            time.sleep(POLL_S)
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
