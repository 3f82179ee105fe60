"""Keeps the indexes in step with the store: the lexical index and the vector index.

Both remember the store `seq` they reflect and catch up from there, so indexing is incremental,
resumable after a kill, and `rebuild` is the same walk from zero. Embeddings are computed in
batches, stored with the model's name and reused for any text whose content hash is known, so
a damaged vector index is refilled from the store without a model (`repair`). Each index is
written under its own lock: two processes syncing at once take turns (`search/writelock`; for
vectors in PostgreSQL, an advisory lock: `store/pgvector`). The vector index is either the data
dir's files (`search/vectors`) or, on PostgreSQL, pgvector inside the store (`search/pgvectors`):
both have the same methods.
"""

from __future__ import annotations

from typing import Callable, Iterator

from . import demo_vectors
from .models import Paper
from .search.lexical import LexicalIndex
from .search.vectors import VectorIndex
from .store import Store

EMBED_BATCH = 256
Progress = Callable[[int], None] | None


class Indexer:
    def __init__(self, store: Store, lexical: LexicalIndex, vectors: VectorIndex | None, embedder_factory):
        self.store, self.lexical, self.vectors = store, lexical, vectors
        self._embedder_factory = embedder_factory  # built on first need: loading the model costs

    def pending(self) -> dict[str, int]:
        top = self.store.max_seq()
        out = {"lexical": max(0, top - self.lexical.seq)}
        if self.vectors is not None:
            out["vectors"] = max(0, top - self.vectors.seq)
        return out

    def sync_lexical(self, progress: Progress = None, *, lock_wait: float | None = None) -> int:
        """Catch the keyword index up; `lock_wait` bounds the wait for another writer (default:
        the index's own, `index_lock_wait_s`)."""
        if self.store.max_seq() == self.lexical.seq:
            return 0
        with self.lexical.lock.patience(lock_wait):
            return self.lexical.sync(progress)  # reads the store's changes itself, under its lock

    def sync_vectors(self, progress: Progress = None, *, stored_only: bool = False,
                     lock_wait: float | None = None) -> int:
        """Embed what changed since the vector index's seq and add it; returns papers handled.

        Under the index's writer lock: a second process waits for the first (bounded), then
        starts from the seq the first reached. With `stored_only`, no model is loaded: it stops
        at the first batch with a paper whose vector the store does not hold (the next sync
        embeds it), which is how a damaged index is refilled."""
        if self.vectors is None or self.store.max_seq() == self.vectors.seq:
            return 0
        done = 0
        with self.vectors.lock.patience(lock_wait), self.vectors.lock.held():
            try:
                for batch in _batches(self.store.papers_changed_since(self.vectors.seq), EMBED_BATCH):
                    if not self._embed_batch(batch, stored_only):
                        break
                    done += len(batch)
                    if progress:
                        progress(len(batch))
            finally:
                if done:  # the ANN index is saved once per sync (it is large), even an interrupted one
                    self.vectors.flush()
        return done

    def _embed_batch(self, batch: list[tuple[int, Paper]], stored_only: bool = False) -> bool:
        from .embed import paper_text

        live = [p for _, p in batch if not p.withdrawn]
        removals = [p.id for _, p in batch if p.withdrawn]
        model = self.vectors.model
        hashes = {p.id: p.content_hash() for p in live}
        known = self.store.embeddings_by_hash(model, sorted(set(hashes.values())))
        shipped = demo_vectors.load(model)
        known.update({h: shipped[h] for h in hashes.values() if h not in known and h in shipped})
        todo = [p for p in live if hashes[p.id] not in known]
        if todo and stored_only:
            return False
        if todo:
            fresh = self._embedder_factory().encode([paper_text(p.title, p.abstract) for p in todo])
            known.update({hashes[p.id]: v for p, v in zip(todo, fresh)})
        rows = [(p.id, hashes[p.id], known[hashes[p.id]]) for p in live]
        self.store.put_embeddings(model, rows)  # on PostgreSQL this is what pgvector searches
        self.vectors.apply([(pid, v) for pid, _, v in rows], removals, seq=batch[-1][0])
        return True

    def repair(self, full: bool = False) -> dict[str, str]:
        """Check both indexes' files (every byte with `full`); a damaged one is emptied, and the
        vectors are refilled at once from those the store keeps (the keyword index refills on
        its next sync or search). Returns the damage found, by index name."""
        found = {}
        if problem := self.lexical.verify(full):
            found["keywords"] = problem
        if self.vectors is not None and (problem := self.vectors.verify(full)):
            found["vectors"] = problem
        if self.vectors is not None and self.vectors.problem:
            self.sync_vectors(stored_only=True)
        return found

    def reset(self) -> None:
        """Empty both indexes; the next syncs rebuild them from the store (stored vectors are
        reused by content hash, so only a new model re-embeds)."""
        self.lexical.reset()
        if self.vectors is not None:
            self.vectors.reset()


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
