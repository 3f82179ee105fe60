"""The vector index: paper embeddings on disk, searched exactly or through a faiss ANN index.

The folder (its files, their checksums, commits, repair, the ANN index's build) is
`vector_files`; this module searches what it holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .vector_files import ANN_THRESHOLD, ReindexNeeded, VectorFiles  # noqa: F401 (for callers)

ANN_RERANK = 100  # ANN candidates re-scored exactly
ROW_CACHE = 50_000  # rows read for exact scores kept in memory (75 MB at 384 dims)


@dataclass
class VectorHit:
    id: str
    score: float
    vector: np.ndarray | None = None  # the index read it anyway: no second fetch


class VectorIndex(VectorFiles):
    """Searches by cosine over the rows `VectorFiles` holds; `VectorFiles` opens, checks and
    writes them."""

    def __len__(self) -> int:
        return len(self.row_of)

    @property
    def version(self) -> int:
        """What this process's view reflects, for caches of what was found in it: the feed
        position of the rows it holds."""
        return self.seq

    def vector(self, paper_id: str) -> np.ndarray | None:
        row = self.row_of.get(paper_id)
        return None if row is None else self._rows(np.array([row]))[0]

    def search(self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               exclude: set[str] = frozenset()) -> list[VectorHit]:
        """Top k by cosine (vectors are unit length); with `allowed` (paper keys), exactly among those."""
        if k <= 0 or not self.row_of:
            return []
        query = np.asarray(query, np.float32).reshape(-1)
        if allowed is not None:
            return self._exact_among(query, k, self.rows_for_keys(allowed), exclude)
        if self.ann is not None:
            want = k + len(exclude)
            ann, deleted, n = self.ann, self.deleted, len(self.ids)
            _, rows = ann.search(query[None, :], min(max(want + 20, ANN_RERANK), ann.ntotal))
            # Rows another process appended since the ANN index was loaded (`refresh`) are not
            # in it: they are scored exactly, with the candidates.
            tail = [r for r in range(ann.ntotal, n) if r not in deleted]
            rows = np.array([r for r in rows[0] if r >= 0 and int(r) not in deleted] + tail, dtype=np.int64)
            # Rerank with the exact float32 vectors: SQ8 codes blur near-ties.
            return self._exact_among(query, k, rows, exclude)
        vectors, deleted = self.vectors, self.deleted  # `refresh` may swap both meanwhile
        scores = vectors @ query
        if deleted:
            scores[[d for d in deleted if d < len(scores)]] = -np.inf
        top = min(k + len(exclude), len(scores))  # deleted rows score -inf: never ahead of a live one
        rows = np.argpartition(-scores, top - 1)[:top] if top < len(scores) else np.arange(len(scores))
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        ids = self.ids
        hits = [VectorHit(ids[r], s, v) for r, s, v in zip(rows.tolist(), scores[rows].tolist(), vectors[rows])
                if r not in deleted and ids[r] not in exclude]
        return hits[:k]

    def rows_for_keys(self, keys: np.ndarray) -> np.ndarray:
        """Live rows of the papers with these keys (unknown keys are skipped)."""
        if self._by_key is None:
            live = np.array(sorted(self.row_of.values()), dtype=np.int64)
            order = np.argsort(self.keys[live], kind="stable")
            self._by_key = (self.keys[live][order], live[order])
        sorted_keys, rows = self._by_key
        keys = np.asarray(keys, dtype=np.int64)
        pos = np.searchsorted(sorted_keys, keys).clip(0, max(len(sorted_keys) - 1, 0))
        found = sorted_keys[pos] == keys if len(sorted_keys) else np.zeros(len(keys), bool)
        return rows[pos[found]]

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        """Vectors of some rows. With an ANN index they are read with pread, not through the
        map: a long-running server would otherwise end up with the whole file (1.4 GB at a
        million papers) mapped and counted in its memory."""
        if self.ann is None:
            return self.vectors[rows]
        size = self.dim * 4
        out = np.empty((len(rows), self.dim), np.float32)
        cache = self._row_cache
        if len(cache) > ROW_CACHE:
            cache.clear()
        for i, r in enumerate(rows):
            r = int(r)
            v = cache.get(r)
            if v is None:  # rows are append-only, so a cached row never goes stale
                v = cache[r] = np.frombuffer(os.pread(self._fd, size, r * size), np.float32)
            out[i] = v
        return out

    def vectors_of(self, paper_ids) -> dict[str, np.ndarray]:
        """Vectors of many papers at once (unknown ids are left out)."""
        known = [(pid, self.row_of[pid]) for pid in paper_ids if pid in self.row_of]
        if not known:
            return {}
        found = self._rows(np.array([row for _, row in known]))
        return {pid: found[i] for i, (pid, _) in enumerate(known)}

    def _exact_among(self, query: np.ndarray, k: int, rows: np.ndarray, exclude=frozenset()) -> list[VectorHit]:
        if not len(rows):
            return []
        rows = np.sort(rows)
        vectors = self._rows(rows)
        scores = vectors @ query
        order = np.argsort(-scores, kind="stable")
        hits = []
        for i in order:
            pid = self.ids[rows[i]]
            if pid not in exclude:
                hits.append(VectorHit(pid, float(scores[i]), vectors[i]))
                if len(hits) == k:
                    break
        return hits
