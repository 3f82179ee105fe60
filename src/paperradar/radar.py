"""One data dir's boxes wired together: settings → store, indexes, embedder, search.

Built once at the edge (CLI command, web app factory, test) and passed down.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
from importlib import resources
from pathlib import Path

from . import reembed
from .config import Settings
from .embed import Embedder, EmbedError
from .embed import pair
from .embed.pair import PairEmbedder
from .indexer import Indexer
from .ingest import IngestReport, ingest
from .follow import Follower
from .search.lexical import IndexBusy, LexicalIndex
from .search.pgvectors import PgVectorIndex
from .search.service import SearchService
from .search.vectors import ReindexNeeded, VectorIndex
from .sources.hf_daily import parse_daily_papers
from .sources.pages import read_page
from .store import Store


log = logging.getLogger("paperradar.index")
DEMO_HF_DAILY = "hf_daily_recent.jsonl.gz"  # four weeks of real Daily Papers lists (docs/listings.md)


def demo_files() -> list[Path]:
    """The listing pages shipped inside the package as the demo corpus (the Daily Papers file
    that completes it is `demo_hf_daily()`)."""
    folder = resources.files("paperradar") / "demo"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))


def demo_hf_daily() -> Path:
    """The Hugging Face Daily Papers lists shipped with the demo corpus."""
    return Path(str(resources.files("paperradar") / "demo" / DEMO_HF_DAILY))


class Radar:
    def __init__(self, settings: Settings, *, rebuild_vectors: bool = False):
        self.settings = settings
        self.store = Store.from_settings(settings)
        index_dir = settings.data_dir / "index"
        wait = settings.index_lock_wait_s
        # Opening checks each index's files; a damaged one is emptied and refilled from the store
        # (the keyword index by the next sync or search, the vectors below): docs/search.md.
        self.lexical = LexicalIndex(index_dir / "lexical", self.store.papers_changed_since, lock_wait=wait)
        # On PostgreSQL the vectors are searched in the store (pgvector), shared by every process;
        # on SQLite they are the data dir's files, one folder per embedding (docs/store.md).
        self.vectors: VectorIndex | PgVectorIndex | None = None
        self.vector_problem: str | None = None  # why search by meaning is off, if it is
        self._embedders: dict[tuple[str, bool, bool], Embedder] = {}  # by (model, quantized, for_queries)
        self._embedder_lock = threading.Lock()
        self._follower: Follower | None = None
        # The embedding search uses: the configured one, or until `paperradar reembed` has embedded
        # every paper with that one, the one that embedded them before (docs/search.md, "Models").
        self.wanted = settings.embedding_name
        self.active = reembed.active_embedding(self.store, self.wanted)
        try:
            self.vectors = self.open_vectors(self.active, fresh=rebuild_vectors)
        except (ReindexNeeded, EmbedError) as e:
            self.vector_problem = str(e)
        active = self.active
        self.indexer = Indexer(self.store, self.lexical, self.vectors, lambda: self.model_for(active))
        self.search = SearchService(self.store, self.lexical, self.vectors, lambda: self.query_embedder(active))
        if self.vectors is not None and self.vectors.problem:
            try:  # from the vectors the store keeps: no model to load, so cheap enough to do now
                self.indexer.sync_vectors(stored_only=True)
            except IndexBusy as e:  # another process is writing them: it or the next sync refills
                log.warning("%s", e)

    def open_vectors(self, embedding: str, *, fresh: bool = False) -> VectorIndex | PgVectorIndex:
        """The vector index of one embedding (a model, or its int8 twin): pgvector rows in a
        PostgreSQL store, else the data dir's folder for that embedding."""
        dim = pair.dim_of(reembed.model_of(embedding))
        wait = self.settings.index_lock_wait_s
        if self.store.is_postgresql:
            vectors = PgVectorIndex(self.store, embedding, dim, lock_wait=wait)
            if fresh:
                vectors.reset()
            return vectors
        return VectorIndex(reembed.vector_folder(self.settings.data_dir / "index", embedding), embedding, dim,
                           fresh=fresh, lock_wait=wait)

    def use_embedding(self, embedding: str) -> None:
        """Search with another embedding's vectors from now on (after `reembed` switched the
        store to it). A request holds the `search` it started with, so none mixes a query
        vector of one model with another's papers."""
        vectors = self.open_vectors(embedding)
        self.active, self.vectors, self.vector_problem = embedding, vectors, None
        self.indexer = Indexer(self.store, self.lexical, vectors, lambda: self.model_for(embedding))
        self.search = SearchService(self.store, self.lexical, vectors, lambda: self.query_embedder(embedding))
        # A web process froze what it made at start-up out of the garbage collector's sight
        # (web/serving.py); the search and vectors replaced here hold reference cycles, so only
        # the collector frees them (a whole vector index), and it must see them again.
        gc.unfreeze()
        log.info("search by meaning now uses %s", embedding)

    @property
    def index_damage(self) -> dict[str, str]:
        """Damage this process found in the indexes (and emptied them for), by index name."""
        found = {"keywords": self.lexical.problem, "vectors": self.vectors.problem if self.vectors else None}
        return {name: problem for name, problem in found.items() if problem}

    def check_embedding(self) -> bool:
        """Switch to the embedding the store says search uses, if another process (`reembed`)
        changed it; whether it switched. One small read: the follower calls it at every look."""
        name = self.store.get_meta(reembed.ACTIVE_KEY)
        if name is None or name == self.active:
            return False
        self.use_embedding(name)
        return True

    def embedder(self) -> Embedder:
        """The model that embeds papers for search (`active`), loaded on first use (a second or
        two); batches use every core."""
        return self.model_for(self.active)

    def query_embedder(self, embedding: str | None = None) -> Embedder:
        """The model that embeds search queries (for `embedding`, default `active`): the papers' own, or with `query_int8` its int8
        twin made for queries. A query is a few words, so the fp32 run is bound by reading 42 MB
        of weights per query; int8 weights cut a query's embedding from 3-8 to 1-3 ms at cosine
        >= 0.98 to the fp32 vector (docs/search.md)."""
        embedding = embedding or self.active
        model, quantized = reembed.model_of(embedding), reembed.is_int8(embedding)
        if quantized or not self.settings.query_int8:
            return self._model(model, quantized)
        return self._model(model, True, for_queries=True)

    def model_for(self, embedding: str) -> Embedder:
        """The model that makes `embedding`'s vectors."""
        return self._model(reembed.model_of(embedding), reembed.is_int8(embedding))

    def _model(self, model: str, quantized: bool, *, for_queries: bool = False) -> Embedder | PairEmbedder:
        return pair.load(self.settings.model_cache, model, quantized=quantized, for_queries=for_queries,
                         single=self._single)

    def _single(self, model: str, quantized: bool, for_queries: bool) -> Embedder:
        key = (model, quantized, for_queries)
        with self._embedder_lock:
            if key not in self._embedders:
                self._embedders[key] = Embedder(self.settings.model_cache, model=model, quantized=quantized,
                                                for_queries=for_queries)
            return self._embedders[key]

    def follow(self, interval: float | None = None) -> None:
        """Keep the indexes in step with the store in the background (a daemon thread; docs/store.md):
        papers any process commits become searchable here within about `interval` seconds
        (default `follow_interval_s`) plus the time to embed them. Does nothing when already
        following or when the interval is 0."""
        interval = self.settings.follow_interval_s if interval is None else interval
        if self._follower is not None or interval <= 0:
            return
        self._follower = Follower(self, interval)
        self._follower.start()

    @property
    def follower(self) -> Follower | None:
        """The running follower (`looks`, `last_error`), or None when not following."""
        return self._follower

    def stop_following(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None

    def close(self) -> None:
        self.stop_following()
        self.store.close()

    def pending_index_changes(self) -> int:
        return max(self.indexer.pending().values())

    def sync_indexes(self, progress=None) -> int:
        """Bring every index up to the store's state; cheap when nothing changed. An index that
        another process keeps writing longer than `index_lock_wait_s` is left to catch up at the
        next sync (logged): what changed is in the store either way."""
        done = {}
        for name, sync in (("lexical", lambda: self.indexer.sync_lexical(progress)),
                           ("vectors", self.indexer.sync_vectors)):
            try:
                done[name] = sync()
            except IndexBusy as e:
                log.warning("%s; it catches up at the next sync", e)
        return done.get("lexical", 0)

    def rebuild_indexes(self, progress=None) -> int:
        self.indexer.reset()
        return self.sync_indexes(progress)

    def load_demo_if_empty(self) -> IngestReport | None:
        """Fill an empty store with the bundled demo corpus; does nothing otherwise."""
        if self.store.count_papers():
            return None
        return load_demo(self.store)


DEMO_PAGES_SAVED = dt.date(2025, 3, 31)


def load_demo(store: Store) -> IngestReport:
    """Ingest the demo corpus: the listing pages, then four weeks of Daily Papers, one report.

    The Daily Papers go through `parse_daily_papers` like `ingest hf-daily`, so their listings
    (day, rank, upvotes, links) are stored with them."""
    report = IngestReport()
    for path in demo_files():
        # The pages were saved in March 2025 (the newest of their papers, such as "MLLMs Know Where
        # to Look", arXiv 2502.17422, appeared in February 2025), so "Mar 11"
        # means 2025: a fixed reference keeps the demo's dates the same whenever it is cloned.
        page = read_page(path, today=DEMO_PAGES_SAVED)
        report.skipped.extend(page.warnings)
        ingest(store, page.papers, report=report)
    daily = demo_hf_daily()
    ingest(store, parse_daily_papers(daily.read_bytes(), str(daily), ref=daily.name), report=report)
    return report
