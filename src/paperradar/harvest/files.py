"""`ingest jsonl` and `ingest hf-daily`: papers from files on disk into the store.

The snapshot import streams the file (one line in memory at a time, a batch of papers at most),
commits every `batch` papers together with a checkpoint (byte offset and line number, keyed by
the file's absolute path and size) and so resumes after a kill where the last commit ended.
A line that cannot be read is counted and reported with its line number; the import goes on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..sources.arxiv_jsonl import iter_snapshot
from ..sources.errors import SourceError
from ..sources.hf_daily import parse_daily_papers
from ..store import Store
from .jobs import Counts, OnChange, ProgressFn, recorded_run


def jsonl_checkpoint_key(path: str | os.PathLike) -> str:
    p = Path(path).resolve()
    return f"import:jsonl:{p}:{p.stat().st_size}"


def import_jsonl(store: Store, path: str | os.PathLike, *, batch: int = 5000, restart: bool = False,
                 progress: ProgressFn | None = None, on_change: OnChange | None = None) -> Counts:
    """Import an arXiv metadata snapshot; a second call continues (or, finished, does nothing).

    `restart=True` forgets the checkpoint and reads the file from the start again.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(str(path), 0, "no such file")
    key = jsonl_checkpoint_key(path)
    state = {} if restart else json.loads(store.get_meta(key) or "{}")
    offset, line = int(state.get("offset", 0)), int(state.get("line", 0))
    size = path.stat().st_size
    counts = Counts()
    with recorded_run(store, "import-jsonl", counts):
        papers = []
        for line, offset, item in iter_snapshot(path, offset, line):
            if isinstance(item, SourceError):
                counts.add_error(str(item))
                continue
            papers.append(item)
            if len(papers) >= batch:
                _commit(store, papers, counts, key, offset, line, on_change)
                papers = []
                if progress is not None:
                    progress(counts.records, offset, size)
        _commit(store, papers, counts, key, offset, line, on_change)
        if progress is not None:
            progress(counts.records, offset, size)
    return counts


def _commit(store: Store, papers: list, counts: Counts, key: str, offset: int, line: int,
            on_change: OnChange | None) -> None:
    checkpoint = json.dumps({"offset": offset, "line": line})
    result, _ = store.apply_batch(papers, checkpoint=(key, checkpoint))
    counts.records += len(papers)
    counts.pages += 1
    counts.add_result(result)
    if on_change is not None and (result.added or result.updated):
        on_change(result)


def import_hf_daily(store: Store, path: str | os.PathLike, *, on_change: OnChange | None = None) -> Counts:
    """Import one saved Hugging Face `daily_papers` JSON response."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(str(path), 0, exc.strerror or str(exc)) from None
    counts = Counts()
    with recorded_run(store, "import-hf-daily", counts):
        papers = parse_daily_papers(data, str(path), ref=path.name)
        result, _ = store.apply_batch(papers)
        counts.records = len(papers)
        counts.pages = 1
        counts.add_result(result)
        if on_change is not None and (result.added or result.updated):
            on_change(result)
    return counts
