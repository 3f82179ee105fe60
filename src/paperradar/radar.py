"""One data dir's boxes wired together: settings → store, indexes, embedder, search.

Built once at the edge (CLI command, web app factory, test) and passed down.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from importlib import resources
from pathlib import Path

from .config import Settings
from .embed import Embedder, EmbedError
from .embed.weights import model_spec
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
        # on SQLite they are the data dir's files (docs/store.md).
        self.vectors: VectorIndex | PgVectorIndex | None = None
        self.vector_problem: str | None = None  # why search by meaning is off, if it is
        self._embedders: dict[bool, Embedder] = {}  # by quantized: fp32 and int8 at most
        self._embedder_lock = threading.Lock()
        self._follower: Follower | None = None
        try:
            dim = model_spec(settings.embed_model).dim
            if self.store.is_postgresql:
                self.vectors = PgVectorIndex(self.store, settings.embedding_name, dim, lock_wait=wait)
                if rebuild_vectors:
                    self.vectors.reset()
            else:
                self.vectors = VectorIndex(index_dir / "vectors", settings.embedding_name, dim,
                                           fresh=rebuild_vectors, lock_wait=wait)
        except (ReindexNeeded, EmbedError) as e:
            self.vector_problem = str(e)
        self.indexer = Indexer(self.store, self.lexical, self.vectors, self.embedder)
        self.search = SearchService(self.store, self.lexical, self.vectors, self.query_embedder)
        if self.vectors is not None and self.vectors.problem:
            try:  # from the vectors the store keeps: no model to load, so cheap enough to do now
                self.indexer.sync_vectors(stored_only=True)
            except IndexBusy as e:  # another process is writing them: it or the next sync refills
                log.warning("%s", e)

    @property
    def index_damage(self) -> dict[str, str]:
        """Damage this process found in the indexes (and emptied them for), by index name."""
        found = {"keywords": self.lexical.problem, "vectors": self.vectors.problem if self.vectors else None}
        return {name: problem for name, problem in found.items() if problem}

    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (a second or two); batches use every core."""
        return self._model(quantized=self.settings.embed_int8)

    def query_embedder(self) -> Embedder:
        """The model that embeds search queries: the papers' own, or with `query_int8` its int8
        twin. A query is a few words, so the fp32 run is bound by reading 42 MB of weights per
        query; int8 weights cut a query's embedding from 3-8 to 1-3.5 ms at cosine >= 0.99 to
        the fp32 vector (docs/search.md)."""
        return self._model(quantized=self.settings.embed_int8 or self.settings.query_int8)

    def _model(self, quantized: bool) -> Embedder:
        with self._embedder_lock:
            if quantized not in self._embedders:
                self._embedders[quantized] = Embedder(self.settings.model_cache, model=self.settings.embed_model,
                                                      quantized=quantized)
            return self._embedders[quantized]

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
