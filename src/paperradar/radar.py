"""One data dir's boxes wired together: settings → store, indexes, search.

Built once at the edge (CLI command, web app factory, test) and passed down.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Callable

from .config import Settings
from .ingest import IngestReport, ingest
from .search.lexical import LexicalIndex
from .search.service import SearchService
from .sources.pages import read_page
from .store import Store


def demo_files() -> list[Path]:
    """The listing pages shipped inside the package as the demo corpus."""
    folder = resources.files("paperradar") / "demo"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))


class Radar:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store.from_settings(settings)
        self.lexical = LexicalIndex(settings.data_dir / "index" / "lexical")
        self.search = SearchService(self.store, self.lexical)

    def close(self) -> None:
        self.store.close()

    def pending_index_changes(self) -> int:
        return max(0, self.store.max_seq() - self.lexical.seq)

    def sync_indexes(self, progress: Callable[[int], None] | None = None) -> int:
        """Bring the indexes up to the store's state; cheap when nothing changed."""
        if self.store.max_seq() == self.lexical.seq:
            return 0
        return self.lexical.sync(self.store.papers_changed_since(self.lexical.seq), progress)

    def rebuild_indexes(self, progress: Callable[[int], None] | None = None) -> int:
        return self.lexical.rebuild(self.store.papers_changed_since(0), progress)

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
