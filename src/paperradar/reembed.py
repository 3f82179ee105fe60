"""Changing the embedding model: re-embed every paper, then switch search over at once.

The store records which embedding search uses (meta `search_embedding`). When the settings name
another one (`PAPERRADAR_EMBED_MODEL`, `PAPERRADAR_EMBED_INT8`), every process keeps searching
with the recorded one: its vectors are complete, and a query embedded by one model is never
compared with papers embedded by another. `run` embeds the papers with the new model into that
model's own index (a folder per embedding on SQLite, pgvector rows per model on PostgreSQL),
storing each batch's vectors in the store as it goes, so a killed run resumes where it stopped
(a vector the store holds is reused by content hash, not computed again). Once the new index has
every paper, one write to the store switches search to it; running servers notice at their next
look at the change feed (`Radar.check_embedding`) and swap their index and query model between
two requests. docs/search.md, "Models".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .embed import pair
from .embed.weights import SUPPORTED_MODELS

ACTIVE_KEY = "search_embedding"
INT8 = "-int8"


def model_of(embedding: str) -> str:
    """The model behind an embedding name ("all-MiniLM-L6-v2-int8" → "all-MiniLM-L6-v2")."""
    return embedding[: -len(INT8)] if embedding.endswith(INT8) else embedding


def is_int8(embedding: str) -> bool:
    return embedding.endswith(INT8)


def vector_folder(index_dir: Path, embedding: str) -> Path:
    """The data dir's vector index for one embedding: `index/vectors/<embedding>`.

    Versions before re-embedding kept one embedding's files in `index/vectors` itself; those are
    removed here (derived data: the new folder is refilled from the vectors the store keeps)."""
    folder = index_dir / "vectors"
    if (folder / "state.json").exists():
        for old in folder.iterdir():
            if old.is_file():
                old.unlink(missing_ok=True)
    return folder / embedding


def active_embedding(store, wanted: str) -> str:
    """The embedding search uses, recorded in the store on first use.

    A store that never recorded one (made by an older version) uses the embedding it holds most
    vectors of, so upgrading never leaves search without vectors; an empty one uses `wanted`.
    A recorded embedding of which the store holds no vectors yields to `wanted` at once: there
    is nothing to keep answering with."""
    name = store.get_meta(ACTIVE_KEY)
    if name is None:
        counts = {n: c for n, c in store.embedding_counts().items()
                  if all(m in SUPPORTED_MODELS for m in pair.parts(model_of(n)))}
        return store.put_meta_if_absent(ACTIVE_KEY, max(counts, key=counts.get) if counts else wanted)
    if name != wanted and not store.embedding_counts().get(name):
        store.put_meta(ACTIVE_KEY, wanted)
        return wanted
    return name


@dataclass
class Reembedded:
    embedding: str  # what search uses now
    previous: str | None  # what it used before; None when nothing changed
    papers: int  # papers the new index took in
    seconds: float


def run(radar, progress=None, *, before=None) -> Reembedded:
    """Embed every paper with the configured model, then make search use it (module docstring).
    `before(papers)` is called once with about how many papers are left, before any embedding
    (a progress bar's total). Raises IndexBusy when another process is writing the new index
    (it will finish the job)."""
    from .indexer import Indexer

    target, started = radar.wanted, time.monotonic()
    if radar.active == target:
        return Reembedded(target, None, 0, 0.0)
    vectors = radar.open_vectors(target)
    if before is not None:
        before(min(max(0, radar.store.max_seq() - vectors.seq), radar.store.count_papers()))
    indexer = Indexer(radar.store, radar.lexical, vectors, lambda: radar.model_for(target))
    done = indexer.sync_vectors(progress)
    while vectors.seq < radar.store.max_seq():  # papers committed while it embedded
        done += indexer.sync_vectors(progress)
    previous = radar.active
    radar.store.put_meta(ACTIVE_KEY, target)
    radar.use_embedding(target)
    return Reembedded(target, previous, done, time.monotonic() - started)
