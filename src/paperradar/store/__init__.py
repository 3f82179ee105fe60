"""The storage boundary: the only package that speaks SQL.

`Store` owns the engine and exposes what the other boxes need as plain methods returning
`Paper` records; each entity's SQL lives in its own module (papers.py, meta.py, ...).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

from sqlalchemy import Connection

from ..models import Paper
import numpy as np

from . import embeddings, meta, papers, runs
from .db import make_engine, migrate
from .papers import UpsertResult
from .runs import Run


BULK_CACHE_KIB = 128 * 1024


class Store:
    def __init__(self, url: str, *, migrate_schema: bool = True):
        self.url = url
        self.engine = make_engine(url)
        if migrate_schema:
            migrate(self.engine)

    @classmethod
    def from_settings(cls, settings) -> "Store":
        settings.ensure_data_dir()
        return cls(settings.db_url)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction; other modules may group several store calls inside it."""
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # papers
    def upsert_papers(self, incoming: Iterable[Paper]) -> UpsertResult:
        with self.tx() as conn:
            return papers.upsert(conn, incoming)

    def get_paper(self, paper_id: str) -> Paper | None:
        with self.engine.connect() as conn:
            return papers.get(conn, paper_id)

    def get_papers(self, ids: list[str]) -> dict[str, Paper]:
        with self.engine.connect() as conn:
            return papers.get_many(conn, ids)

    def latest_papers(self, limit: int, offset: int = 0) -> list[Paper]:
        with self.engine.connect() as conn:
            return papers.latest(conn, limit, offset)

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return papers.count(conn)

    def all_titles(self) -> list[Paper]:
        with self.engine.connect() as conn:
            return papers.all_titles(conn)

    def max_seq(self) -> int:
        with self.engine.connect() as conn:
            return papers.max_seq(conn)

    def papers_changed_since(self, seq: int) -> Iterator[tuple[int, Paper]]:
        with self.engine.connect() as conn:
            yield from papers.changed_since(conn, seq)

    def apply_batch(self, incoming: Iterable[Paper], *, withdrawn: Iterable[str] = (),
                    checkpoint: tuple[str, str] | None = None, bulk: bool = False) -> tuple[UpsertResult, int]:
        """Upsert papers, flag withdrawn arXiv ids and save a (meta key, value) checkpoint in ONE
        transaction, so a job killed at any moment resumes from a checkpoint that matches the data.

        `bulk=True` (a multi-million-paper import) gives this connection a larger SQLite page
        cache, so the randomly ordered title index stays in memory (about 10% less CPU per
        paper at 300k papers); other connections keep the default.
        """
        with self.tx() as conn:
            if bulk and conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
            result = papers.upsert(conn, incoming)
            gone = papers.mark_withdrawn(conn, withdrawn) if withdrawn else 0
            if checkpoint is not None:
                meta.put(conn, *checkpoint)
            return result, gone

    def mark_withdrawn(self, arxiv_ids: Iterable[str]) -> int:
        """Flag papers withdrawn (OAI deleted records); returns how many changed."""
        with self.tx() as conn:
            return papers.mark_withdrawn(conn, arxiv_ids)

    # runs
    def start_run(self, job: str) -> int:
        with self.tx() as conn:
            return runs.start(conn, job)

    def finish_run(self, run_id: int, status: str, counts: dict, error: str | None = None) -> None:
        with self.tx() as conn:
            runs.finish(conn, run_id, status, counts, error)

    def last_runs(self, limit: int = 10, job: str | None = None) -> list[Run]:
        with self.engine.connect() as conn:
            return runs.last(conn, limit, job)

    # embeddings
    def put_embeddings(self, model: str, rows: list[tuple[str, str, np.ndarray]]) -> None:
        with self.tx() as conn:
            embeddings.put(conn, model, rows)

    def embeddings_by_hash(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        with self.engine.connect() as conn:
            return embeddings.by_hash(conn, model, hashes)

    def current_embeddings(self, model: str) -> Iterator[tuple[str, np.ndarray]]:
        with self.engine.connect() as conn:
            yield from embeddings.current(conn, model)

    def get_embedding(self, model: str, paper_id: str) -> np.ndarray | None:
        with self.engine.connect() as conn:
            return embeddings.get(conn, model, paper_id)

    # meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as conn:
            return meta.get(conn, key, default)

    def put_meta(self, key: str, value: str) -> None:
        with self.tx() as conn:
            meta.put(conn, key, value)


__all__ = ["Run", "Store", "UpsertResult"]
