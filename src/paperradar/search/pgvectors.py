"""The vector index on PostgreSQL: pgvector inside the store, shared by every process.

Same methods as `vectors.VectorIndex` (what `Indexer`, `SearchService` and `Radar` call), but
nothing is kept in the data dir: the vectors are the store's `embeddings` rows, searched with
an HNSW index (cosine) per model, filters applied in SQL (`store/pgvector.py`). A paper one
process embeds is found by every other at once. The feed position the vectors reflect is kept
in the store too (`meta`), and their writer holds an advisory lock, so among all the processes
following the feed one embeds each new paper and the others find it done.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from ..store import Store
from ..store.pgvector import WriterBusy
from .vectors import VectorHit
from .writelock import LOCK_WAIT_S, IndexBusy

SEQ_KEY = "pgvector_seq:"  # + model: the store seq the vectors reflect


class _Lock:
    """The model's writer lock across processes (a PostgreSQL advisory lock), with the file
    lock's `held`/`patience`."""

    def __init__(self, store: Store, model: str, dim: int, wait_s: float):
        self.store, self.model, self.dim, self.wait_s = store, model, dim, wait_s
        self._local = threading.local()  # each thread's patience and depth (one session lock each)

    @contextmanager
    def patience(self, wait_s: float | None) -> Iterator[None]:
        before = getattr(self._local, "patience", None)
        self._local.patience = wait_s
        try:
            yield
        finally:
            self._local.patience = before

    @contextmanager
    def held(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth:  # reentrant within a thread, as the file lock is
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        patience = getattr(self._local, "patience", None)
        wait = self.wait_s if patience is None else min(patience, self.wait_s)
        try:
            lock = self.store.vector_writer_lock(self.model, self.dim, wait)
            lock.__enter__()
        except WriterBusy as e:  # what the file lock raises, so callers handle one exception
            raise IndexBusy(str(e)) from None
        try:
            self._local.depth = 1
            yield
        finally:
            self._local.depth = 0
            lock.__exit__(None, None, None)


class PgVectorIndex:
    shared = True  # every process searches the same rows: nothing to reload, only to count
    problem: str | None = None  # nothing on disk to be damaged
    last_repair: dict | None = None

    def __init__(self, store: Store, model: str, dim: int, *, lock_wait: float = LOCK_WAIT_S):
        self.store, self.model, self.dim = store, model, dim
        self.lock = _Lock(store, model, dim, lock_wait)
        store.ensure_vector_index(model, dim)  # the model's HNSW index, made on its first use
        self._count_at: int | None = None  # the seq the cached count was taken at
        self._count = 0
        self.refresh()

    @property
    def seq(self) -> int:
        return int(self.store.get_meta(SEQ_KEY + self.model) or 0)

    def __len__(self) -> int:
        """Vectors searchable: counted when the feed moved (`refresh`), after a sync (`flush`), or
        here when a batch was applied since."""
        if self._count_at is None:
            self.refresh()
        return self._count

    def refresh(self) -> bool:
        """Recount when another process moved the vectors on; the vectors themselves need no
        reload (they are searched where they are)."""
        seq = self.seq
        if seq == self._count_at:
            return False
        self._count = self.store.count_searchable_vectors(self.model)
        self._count_at = seq
        return True

    def verify(self, full: bool = False) -> str | None:
        """Nothing to check: the database keeps its own index consistent."""
        return None

    def vector(self, paper_id: str) -> np.ndarray | None:
        return self.vectors_of([paper_id]).get(paper_id)

    def vectors_of(self, paper_ids) -> dict[str, np.ndarray]:
        return self.store.searchable_vectors(self.model, list(paper_ids))

    def search(self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               exclude: set[str] = frozenset()) -> list[VectorHit]:
        """Top k by cosine (HNSW); with `allowed` (paper keys), exactly among those."""
        if k <= 0:
            return []
        found = self.store.nearest_vectors(self.model, self.dim, np.asarray(query, np.float32), k + len(exclude),
                                           keys=allowed, with_vectors=True)
        return [VectorHit(pid, score, vector) for pid, score, vector in found if pid not in exclude][:k]

    def apply(self, upserts: list[tuple[str, np.ndarray]], removals: list[str], seq: int) -> None:
        """Record that the vectors reflect the store up to `seq`, taking `removals` (withdrawn
        papers) out of the search. `upserts` are already searchable: the indexer stored them
        (`Store.put_embeddings`), and stored vectors are what pgvector searches."""
        self.store.unsearchable_vectors(self.model, removals, seq_key=SEQ_KEY + self.model, seq=seq)
        self._count_at = None  # recounted once per sync (`flush`), not per batch

    def flush(self) -> None:
        """Nothing to save (every change is committed): the searchable vectors are counted again,
        once per sync. A count reads every row of the model (~0.5 s at a million papers), so a
        batch's `apply` only marks it stale."""
        self.refresh()

    def reset(self, repaired: dict | None = None) -> None:
        """Start over: the next sync walks the whole feed again and re-stores every paper's
        vector (reusing stored vectors by content hash, so only a new model re-embeds)."""
        with self.lock.held():
            self.store.put_meta(SEQ_KEY + self.model, "0")
        self._count_at = None
