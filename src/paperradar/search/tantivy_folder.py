"""A tantivy index folder that finds its own damage and rebuilds itself from the store.

Beside tantivy's files the folder holds `paperradar-state.json`: the schema version, the store
`seq` the index reflects, each file's size and modification time when it was committed (so an
open reads in full only files changed since: `checksums`), a build id that tells other
processes the folder was emptied and refilled, and the last repair. Writes hold a lock beside
the folder (`writelock`). Damage, found when the folder opens or when tantivy fails on it
under a running process, empties the index, which is rebuilt from the source before the next
answer (docs/search.md). `LexicalIndex` adds the documents and the queries.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import tantivy

from ..models import Paper
from .checksums import stamp, tantivy_index_problem
from .writelock import IndexBusy, WriterLock

SEGMENT_FILES = ("term", "idx", "pos", "store", "fast", "fieldnorm")  # what every segment of our schema has
RECHECK_S = 1.0  # how often a running process looks at its index files for changes
log = logging.getLogger("paperradar.index")
Source = Callable[[int], Iterable[tuple[int, Paper]]]
T = TypeVar("T")


class IndexDamaged(RuntimeError):
    """The index's files are damaged and it could not be rebuilt here (no store to rebuild from)."""


def _tantivy_failed(e: BaseException) -> bool:
    """tantivy reports unreadable files as ValueError, and some as a Rust panic, which pyo3
    raises as PanicException (a BaseException, so `except Exception` would miss it)."""
    return isinstance(e, (ValueError, OSError)) or type(e).__name__ == "PanicException"


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


class TantivyFolder:
    """`source(seq)` yields the store's `(seq, paper)` changes after `seq`: what the subclass's
    `sync` applies, and what a damaged index is rebuilt from. Damage found when opening (see
    `verify`), or by a search that tantivy cannot answer, empties the index, logs it, records it
    in the state (`last_repair`) and rebuilds from the source before the next answer."""

    def __init__(self, path: Path, schema: tantivy.Schema, schema_version: int, source: Source | None,
                 lock_wait: float):
        self.path, self.schema, self.schema_version, self.source = path, schema, schema_version, source
        self._state_file = path / "paperradar-state.json"
        self.lock = WriterLock(path.with_name(path.name + ".lock"), "keyword index", lock_wait,
                               on_acquire=self._follow_rebuild)
        self.problem: str | None = None  # damage this process found (the index was emptied for it)
        self._behind = False  # emptied for damage: rebuild from the source before answering
        self.index: tantivy.Index | None = None
        self._build: str | None = None
        self._seen: list | None = None  # the files' names, sizes and times at the last look
        self._next_look = 0.0
        self.path.mkdir(parents=True, exist_ok=True)
        if self._new_or_old():
            try:
                with self.lock.held():  # built afresh, quietly
                    if self._new_or_old():
                        self.reset()
            except IndexBusy as e:  # another process is creating it: the next sync or search opens it
                log.warning("%s", e)
                return
        self.verify()

    def _new_or_old(self) -> bool:
        """A new index, or one written by an older version of the schema."""
        state = self._read_state()
        if state == {}:
            return not (self.path / "meta.json").exists()
        return state is not None and state.get("schema") != self.schema_version

    def sync(self, progress: Callable[[int], None] | None = None) -> int:
        raise NotImplementedError

    # --- state -----------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        """The state file's contents: {} when there is none, None when it is unreadable."""
        try:
            state = json.loads(self._state_file.read_text())
            return state if isinstance(state, dict) else None
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return None

    def _state(self) -> dict:
        return self._read_state() or {}

    def state_version(self) -> bytes | None:
        """The state file's bytes as they are now, whichever process wrote them: they change
        whenever the index's contents do (a sync writes its seq; a reset or a repair, its build);
        None when there is no readable state. Read, not stat'ed: a rename reuses freed inodes,
        and coarse file times would let two syncs within one tick look like none. Not parsed:
        this runs for every result page (6 us where read_text and json took 20)."""
        try:
            with open(self._state_file, "rb") as f:
                return f.read() or None
        except OSError:
            return None

    def _write_state(self, state: dict) -> None:
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self._state_file)

    def _save_state(self, seq: int) -> None:
        """Record the store seq the index reflects and the files it consists of now (their size
        and modification time: what an open compares to find files changed since)."""
        files = {}
        for f in self.path.iterdir():
            if f.name in (self._state_file.name, "meta.json") or f.name.startswith(".") or f.name.endswith(".tmp"):
                continue
            try:
                files[f.name] = stamp(f)
            except FileNotFoundError:  # merged away meanwhile
                pass
        self._write_state({**self._state(), "schema": self.schema_version, "seq": seq, "files": files})

    def reset(self, repaired: dict | None = None) -> None:
        """Empty the index; the next `sync` from the store (seq 0) rebuilds it."""
        with self.lock.held():
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir(parents=True, exist_ok=True)
            self.index = tantivy.Index(self.schema, str(self.path), reuse=False)
            self._build = uuid.uuid4().hex  # tells other processes to reopen it
            self._write_state({"schema": self.schema_version, "seq": 0, "build": self._build, "files": {},
                               **({"repaired": repaired} if repaired else {})})
            self._seen = self._look()

    @property
    def seq(self) -> int:
        return int(self._state().get("seq", 0))

    @property
    def last_repair(self) -> dict | None:
        """When and why the index was last emptied for damage: {"at", "problem"}, or None."""
        return self._state().get("repaired")

    # --- damage ----------------------------------------------------------------------------
    def verify(self, full: bool = False) -> str | None:
        """Check the files and open the index. Damage empties the index (rebuilt from the source
        before the next answer) and is returned; None when the index is whole. Only files
        changed since they were written are read in full, unless `full`."""
        problem = self._open_problem(full)
        if problem is None:
            if "files" not in self._state():  # written before states listed the files: all were read
                try:
                    with self.lock.held():
                        self._save_state(self.seq)
                except IndexBusy:
                    pass  # the writer's next commit lists them
            return None
        try:
            with self.lock.held():  # confirmed with no writer at work
                problem = self._open_problem(full)
                if problem is not None:
                    self._discard(problem)
        except IndexBusy as e:  # left as it is: the next search or sync looks again
            log.warning("the keyword index in %s looks damaged (%s) but %s", self.path, problem, e)
        return problem

    def _open_problem(self, full: bool) -> str | None:
        """Check the files and open the index; the damage found, or None. Files that changed
        meanwhile (a writer committed, merged segments were deleted) are looked at again rather
        than taken for damage."""
        for _ in range(3):
            before = self._snapshot()
            problem = self._check_and_open(full)
            if problem is None or self._snapshot() == before:
                break
        return problem

    def _snapshot(self) -> tuple:
        def read(name: str) -> bytes | None:
            try:
                return (self.path / name).read_bytes()
            except OSError:
                return None
        return read(self._state_file.name), read("meta.json")

    def _check_and_open(self, full: bool) -> str | None:
        state = self._read_state()
        if not state:
            return f"{self._state_file.name} is {'unreadable' if state is None else 'missing'}"
        problem = tantivy_index_problem(self.path, SEGMENT_FILES, state.get("files") or {}, full)
        if problem:
            return problem
        try:
            index = tantivy.Index(self.schema, str(self.path), reuse=True)
            index.searcher().num_docs  # opens every segment's files
        except BaseException as e:
            if not _tantivy_failed(e):
                raise
            return f"tantivy cannot open it ({_first_line(e)})"
        self.index, self._build, self._seen = index, state.get("build"), self._look()
        return None

    def _discard(self, problem: str) -> None:
        """Empty a damaged index (the lock is held) and say so; the source refills it."""
        log.warning("the keyword index in %s is damaged: %s; emptied, it is rebuilt from the store",
                    self.path, problem)
        self.problem = problem
        at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.reset(repaired={"at": at, "problem": problem})
        self._behind = True

    def _follow_rebuild(self) -> None:
        """On taking the lock: reopen the index if another process emptied and rebuilt it."""
        build = self._state().get("build")
        if build != self._build and self.index is not None:
            self.index = None  # `sync` (or `_answer`) opens it again, checking it first
            self._build = build

    def _catch_up(self) -> None:
        """After damage: rebuild from the source before answering (a writer elsewhere that
        holds the lock too long leaves the answer to the index as it is)."""
        try:
            self.sync()
        except IndexBusy as e:
            log.warning("%s; answering from the keyword index as it is", e)

    def _look(self) -> list | None:
        try:
            return sorted((f.name, *stamp(f)) for f in self.path.iterdir() if not f.name.startswith("."))
        except OSError:
            return None

    def _changed_on_disk(self) -> bool:
        """Whether a file changed since the last look (a commit here or elsewhere, or damage),
        looked at most once per RECHECK_S: a stat per file, a few microseconds each."""
        now = time.monotonic()
        if now < self._next_look:
            return False
        self._next_look = now + RECHECK_S
        return self._look() != self._seen

    def refresh(self) -> bool:
        """Reopen the index if its files changed since the last look (another process of this
        data dir committed): what a search does first (`_answer`), done ahead of the searches by
        the background follower (follow.py) so that none of them pays for it."""
        if self.index is None or self._look() == self._seen:
            return False
        self.verify()
        return True

    def _answer(self, read: Callable[[], T], empty: T) -> T:
        """Run a read of the index. Files changed under a running process are checked again
        first; tantivy failing on files that prove damaged (checked in full) empties the index,
        rebuilds it and reads once more; a failure on whole files is a bug, raised as it is.
        `empty` answers when the index can be neither read nor repaired (its writer is busy)."""
        if self._changed_on_disk():
            self.verify()
        if self._behind and self.source is not None:
            self._catch_up()
        was_open = self.index is not None  # not open: another process rebuilt it, or damage
        try:
            if was_open:
                return read()
        except BaseException as e:
            if not _tantivy_failed(e):
                raise
            error = e
        try:
            with self.lock.held():
                problem = self._open_problem(full=was_open)
                if problem is None and was_open:
                    raise error
                if problem is not None:
                    self._discard(problem if not was_open else
                                  f"{problem} (found when a search failed: {_first_line(error)})")
        except IndexBusy as e:
            log.warning("%s; the keyword index cannot be read meanwhile", e)
            return empty
        if self._behind:
            if self.source is None:
                raise IndexDamaged(f"the keyword index in {self.path} was damaged ({self.problem}) and is empty now")
            self._catch_up()
        return read()

    def __len__(self) -> int:
        try:
            return self.index.searcher().num_docs if self.index is not None else 0
        except BaseException as e:  # counted by `stats`, which reports the damage itself
            if not _tantivy_failed(e):
                raise
            return 0
