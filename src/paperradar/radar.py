"""One data dir's boxes wired together: settings → store, indexes, embedder, search.

Built once at the edge (CLI command, web app factory, test) and passed down.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

from .config import Settings
from .embed import Embedder, EmbedError
from .embed.weights import model_spec
from .indexer import Indexer
from .ingest import IngestReport, ingest
from .search.lexical import LexicalIndex
from .search.service import SearchService
from .search.vectors import ReindexNeeded, VectorIndex
from .sources.pages import read_page
from .store import Store


def demo_files() -> list[Path]:
    """The listing pages shipped inside the package as the demo corpus."""
    folder = resources.files("paperradar") / "demo"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))


class Radar:
    def __init__(self, settings: Settings, *, rebuild_vectors: bool = False):
        self.settings = settings
        self.store = Store.from_settings(settings)
        index_dir = settings.data_dir / "index"
        self.lexical = LexicalIndex(index_dir / "lexical")
        self.vectors: VectorIndex | None = None
        self.vector_problem: str | None = None  # why search by meaning is off, if it is
        self._embedders: dict[int, Embedder] = {}
        self._embedder_lock = threading.Lock()
        try:
            dim = model_spec(settings.embed_model).dim
            self.vectors = VectorIndex(index_dir / "vectors", settings.embedding_name, dim, fresh=rebuild_vectors)
        except (ReindexNeeded, EmbedError) as e:
            self.vector_problem = str(e)
        self.indexer = Indexer(self.store, self.lexical, self.vectors, self.embedder)
        self.search = SearchService(self.store, self.lexical, self.vectors, self.query_embedder)

    def embedder(self, threads: int | None = None) -> Embedder:
        """The embedding model, loaded on first use (a second or two); all cores by default."""
        with self._embedder_lock:
            if threads not in self._embedders:
                self._embedders[threads] = Embedder(self.settings.model_cache,
                                                    model=self.settings.embed_model,
                                                    quantized=self.settings.embed_int8, threads=threads)
            return self._embedders[threads]

    def query_embedder(self) -> Embedder:
        # One thread: in hybrid search the query's embedding runs beside the keyword search, one
        # core each. Two threads embed a lone query faster (16 tokens: 3.6 ms against 5.7 ms
        # idle) but made hybrid slower at a million papers (p95 22.7 ms against 18.4 ms).
        return self.embedder(threads=1)

    def close(self) -> None:
        self.store.close()

    def pending_index_changes(self) -> int:
        return max(self.indexer.pending().values())

    def sync_indexes(self, progress=None) -> int:
        """Bring every index up to the store's state; cheap when nothing changed."""
        n = self.indexer.sync_lexical(progress)
        self.indexer.sync_vectors()
        return n

    def rebuild_indexes(self, progress=None) -> int:
        self.indexer.reset()
        return self.sync_indexes(progress)

    def load_demo_if_empty(self) -> IngestReport | None:
        """Fill an empty store with the bundled demo corpus; does nothing otherwise."""
        if self.store.count_papers():
            return None
        report = IngestReport()
        for path in demo_files():
            page = read_page(path)
            report.skipped.extend(page.warnings)
            ingest(self.store, page.papers, report=report)
        return report
