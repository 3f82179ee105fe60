"""`ingest jsonl` and `ingest hf-daily`: papers from files on disk into the store.

The snapshot import streams the file (one line in memory at a time, a batch of papers at most),
commits every `batch` papers together with a checkpoint (byte offset and line number, keyed by
the file's absolute path and size) and so resumes after a kill where the last commit ended.
A line that cannot be read is counted and reported with its line number; the import goes on.
"""

from __future__ import annotations

import json
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..sources.errors import SourceError
from ..sources.hf_daily import MAX_BYTES, parse_daily_papers
from ..store import Store
from .jobs import Counts, OnChange, ProgressFn, recorded_run
from .snapshot_reader import read_snapshot


def jsonl_checkpoint_key(path: str | os.PathLike) -> str:
    p = Path(path).resolve()
    return f"import:jsonl:{p}:{p.stat().st_size}"


def import_jsonl(store: Store, path: str | os.PathLike, *, batch: int = 20_000, restart: bool = False,
                 progress: ProgressFn | None = None, on_change: OnChange | None = None,
                 parallel: bool | None = None) -> Counts:
    """Import an arXiv metadata snapshot; a second call continues (or, finished, does nothing).

    `restart=True` forgets the checkpoint and reads the file from the start again. `parallel`
    parses in a helper process (default: when the rest of the file is large, see
    `snapshot_reader`).
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(str(path), 0, "no such file")
    key = jsonl_checkpoint_key(path)
    state = {} if restart else json.loads(store.get_meta(key) or "{}")
    offset, line = int(state.get("offset", 0)), int(state.get("line", 0))
    size = path.stat().st_size
    counts = Counts()
    with recorded_run(store, "import-jsonl", counts), _Committer(store, key, counts, on_change) as committer:
        papers = []
        for line, offset, item in read_snapshot(path, offset, line, parallel):
            if isinstance(item, SourceError):
                counts.add_error(str(item))
                continue
            papers.append(item)
            if len(papers) >= batch:
                committer.submit(papers, offset, line)
                papers = []
                if progress is not None:
                    progress(counts.records, offset, size)
        committer.submit(papers, offset, line)
        committer.wait()
        if progress is not None:
            progress(counts.records, offset, size)
    return counts


class _Committer:
    """Commits batches on one background thread while the caller parses the next ones.

    SQLite does its writing with the GIL released, so parsing and writing overlap. Up to
    `AHEAD` batches wait behind the one being written, so a slow commit (they slow down as the
    indexes grow) does not stall the parser; batches commit in order, each with its checkpoint,
    so what a kill leaves behind is exactly as resumable as with inline commits.
    """

    AHEAD = 2

    def __init__(self, store: Store, key: str, counts: Counts, on_change: OnChange | None):
        self.store, self.key, self.counts, self.on_change = store, key, counts, on_change
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-commit")
        self.pending: deque[tuple[Future, int]] = deque()

    def __enter__(self) -> "_Committer":
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            for future, _ in self.pending:
                future.cancel()
            self.pool.shutdown(wait=True)

    def submit(self, papers: list, offset: int, line: int) -> None:
        while len(self.pending) > self.AHEAD:
            self._account(*self.pending.popleft())
        checkpoint = (self.key, json.dumps({"offset": offset, "line": line}))
        future = self.pool.submit(self.store.apply_batch, papers, checkpoint=checkpoint, bulk=True)
        self.pending.append((future, len(papers)))

    def wait(self) -> None:
        """Wait for every batch in flight and count them (raising what a commit raised)."""
        while self.pending:
            self._account(*self.pending.popleft())

    def _account(self, done: Future, size: int) -> None:
        result, _ = done.result()
        self.counts.records += size
        self.counts.pages += 1
        self.counts.add_result(result)
        if self.on_change is not None and (result.added or result.updated):
            self.on_change(result)


def import_hf_daily(store: Store, path: str | os.PathLike, *, on_change: OnChange | None = None) -> Counts:
    """Import Hugging Face Daily Papers: a saved `daily_papers` JSON response (.json) or JSON lines
    of such items (.jsonl), either one gzipped or not (.jsonl.gz).

    The whole file is parsed before anything is stored and then written in one transaction, so a
    bad line stores nothing from the file; re-importing it changes nothing but counts that grew.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:  # refused before reading it into memory
            raise SourceError(str(path), 0, f"{size >> 20} MB is over the {MAX_BYTES >> 20} MB limit; split the file")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(str(path), 0, exc.strerror or str(exc)) from None
    counts = Counts()
    with recorded_run(store, "import-hf-daily", counts):
        papers = parse_daily_papers(data, str(path), ref=path.name)
        del data
        result, _ = store.apply_batch(papers)
        counts.records = len(papers)
        counts.pages = 1
        counts.add_result(result)
        if on_change is not None and (result.added or result.updated):
            on_change(result)
    return counts
