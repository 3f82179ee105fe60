"""The vector index on PostgreSQL: pgvector inside the store, shared by every process.

Same methods as `vectors.VectorIndex` (what `Indexer`, `SearchService` and `Radar` call), but
nothing is kept in the data dir: the vectors are the store's `embeddings` rows, searched with
an HNSW index (cosine) per model, filters applied in SQL (`store/pgvector.py`). A paper one
process embeds is found by every other at once. The feed position the vectors reflect is kept
in the store too (`meta`), and their writer holds an advisory lock, so among all the processes
following the feed one embeds each new paper and the others find it done.

The graph walk can miss a paper unlike its neighbours: inserted into a graph of other topics, few
links lead to it (at a million papers, 13 of 20 fresh papers on odd topics were never found by
meaning alone). So each process also keeps the vectors of the newest papers (`RECENT_EXACT`,
loaded as the feed moves) and scores them exactly beside every walk, as the SQLite index scores
the rows its ANN index does not hold yet: a new paper is found by meaning once it is embedded.
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
RECENT_EXACT = 2000  # newest papers scored exactly beside the graph walk (3 MB at 384 dimensions)
RECENT_SLICE = 256  # rows per matrix product (see _with_recent)


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

    def __init__(self, store: Store, model: str, dim: int, *, lock_wait: float = LOCK_WAIT_S,
                 recent: int = RECENT_EXACT):
        self.store, self.model, self.dim, self.recent = store, model, dim, recent
        self.lock = _Lock(store, model, dim, lock_wait)
        store.ensure_vector_index(model, dim)  # the model's HNSW index, made on its first use
        self._seen: int | None = None  # the feed position of the last `refresh`
        self._any = False  # whether any vector was searchable then
        self._count, self._counted_at = 0, -1  # the exact count, and the position it was taken at
        # The newest papers' vectors: {id: (feed position, unit vector)}, up to `_recent_seq`;
        # searches read `_recent_matrix`, a (ids, matrix) pair replaced whole.
        self._recent: dict[str, tuple[int, np.ndarray]] = {}
        self._recent_seq = 0
        self._recent_matrix: tuple[list[str], np.ndarray] = ([], np.zeros((0, dim), np.float32))
        self._recent_lock = threading.Lock()
        self.refresh()

    @property
    def seq(self) -> int:
        return int(self.store.get_meta(SEQ_KEY + self.model) or 0)

    def __len__(self) -> int:
        """Vectors searchable. An exact count reads every row of the model (0.5-0.7 s at a million
        papers), so it is taken only when asked, once per feed position: searches ask `bool`."""
        seq = self.seq
        if seq != self._counted_at:
            self._count, self._counted_at = self.store.count_searchable_vectors(self.model), seq
        return self._count

    def __bool__(self) -> bool:
        """Whether any vector is searchable, as of the last `refresh`."""
        if self._seen is None:
            self.refresh()
        return self._any

    def refresh(self) -> bool:
        """When another process (or a sync here) moved the vectors on: whether any is searchable,
        and the newest papers' vectors. The rest need no reload (they are searched where they are)."""
        # One thread at a time, from reading the position to recording it: a thread holding an
        # older position must not load after a newer one, nor record it after.
        with self._recent_lock:
            seq = self.seq
            if seq == self._seen:
                return False
            self._any = self.store.any_searchable_vectors(self.model)
            self._load_recent(seq)
            self._seen = seq
            return True

    def _load_recent(self, upto: int) -> None:
        """Bring the newest papers' vectors up to feed position `upto`: only papers that changed
        since the last load are read (a withdrawn one leaves, an updated one is replaced)."""
        if upto < self._recent_seq:  # the vectors were reset: start over
            self._recent, self._recent_seq = {}, 0
        rows = self.store.recent_vectors(self.model, self._recent_seq, upto, self.recent)
        if not rows and self._recent_seq:
            self._recent_seq = upto
            return
        for pid, seq, v in rows:
            if v is None:
                self._recent.pop(pid, None)
            else:
                self._recent[pid] = (seq, v / (np.linalg.norm(v) or 1.0))
        if len(self._recent) > self.recent:
            newest = sorted(self._recent.items(), key=lambda kv: -kv[1][0])[:self.recent]
            self._recent = dict(newest)
        ids = list(self._recent)
        matrix = np.array([self._recent[pid][1] for pid in ids], np.float32).reshape(len(ids), self.dim)
        self._recent_matrix = (ids, matrix)
        self._recent_seq = upto

    @property
    def version(self) -> int | None:
        """What this process's view reflects, for caches of what was found in it (the feed
        position of its last `refresh`; None while a sync of its own is being applied)."""
        return self._seen

    @property
    def recent_ids(self) -> list[str]:
        """The papers scored exactly beside every graph walk: the newest `recent` with a vector."""
        return list(self._recent_matrix[0])

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
        query = np.asarray(query, np.float32).reshape(-1)
        found = self.store.nearest_vectors(self.model, self.dim, query, k + len(exclude), keys=allowed, with_vectors=True)
        if allowed is None:  # filtered searches are exact already
            found = self._with_recent(found, query, k + len(exclude))
        return [VectorHit(pid, score, vector) for pid, score, vector in found if pid not in exclude][:k]

    def _with_recent(self, found: list[tuple], query: np.ndarray, k: int) -> list[tuple]:
        """The walk's hits and the best k of the newest papers (scored exactly), best first."""
        ids, matrix = self._recent_matrix
        if not ids:
            return found
        unit = query / (np.linalg.norm(query) or 1.0)
        # In slices: OpenBLAS splits a product this size over threads that then spin-wait for
        # more work, taking a core from the database beside us (a hybrid search's process CPU
        # went from ~16 to ~48 ms at a million papers); each slice stays on the calling thread.
        scores = np.concatenate([matrix[i:i + RECENT_SLICE] @ unit for i in range(0, len(ids), RECENT_SLICE)])
        top = min(k, len(ids))
        rows = np.argpartition(-scores, top - 1)[:top] if top < len(ids) else range(len(ids))
        have = {pid for pid, _, _ in found}
        extra = [(ids[r], float(scores[r]), matrix[r]) for r in rows if ids[r] not in have]
        return sorted(found + extra, key=lambda hit: -hit[1]) if extra else found

    def apply(self, upserts: list[tuple[str, np.ndarray]], removals: list[str], seq: int) -> None:
        """Record that the vectors reflect the store up to `seq`, taking `removals` (withdrawn
        papers) out of the search. `upserts` are already searchable: the indexer stored them
        (`Store.put_embeddings`), and stored vectors are what pgvector searches."""
        self.store.unsearchable_vectors(self.model, removals, seq_key=SEQ_KEY + self.model, seq=seq)
        self._seen = None  # looked at again once per sync (`flush`), not per batch

    def flush(self) -> None:
        """Nothing to save (every change is committed): the newest papers' vectors are loaded,
        once per sync."""
        self.refresh()

    def reset(self, repaired: dict | None = None) -> None:
        """Start over: the next sync walks the whole feed again and re-stores every paper's
        vector (reusing stored vectors by content hash, so only a new model re-embeds)."""
        with self.lock.held():
            self.store.put_meta(SEQ_KEY + self.model, "0")
        self._seen = None
