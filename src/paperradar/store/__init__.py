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

from . import embeddings, meta, papers
from .db import make_engine, migrate
from .papers import UpsertResult


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


__all__ = ["Store", "UpsertResult"]
