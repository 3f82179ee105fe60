"""The vector index's folder: its files, what an open checks, how a change is committed.

Files: `vectors.f32` (rows of float32, append-only), `ids.txt` (the paper id of each row),
`keys.i64` (each row's `paper_key`, for filters), `ann-<id>.faiss` (only above `ann_threshold`
rows) and `state.json`: model, dim, store seq, rows, the rows superseded by a newer vector or
withdrawn, and each file's size and CRC-32. Rows are never rewritten: a changed paper gets a
new row and its old row is marked deleted, so an ANN index can simply append. Opening the
folder with another model raises `ReindexNeeded` rather than mixing vectors.

`state.json` is written last by every change: the files as the state describes them are the
index. An open checks them (`checksums.file_problem`); damage empties the index, which the
indexer refills from the vectors the store keeps. Bytes appended after the last state (a write
that was killed) are ignored, and cut off by the next writer. Writers hold a lock
(`writelock`), so two processes never append at once; each ANN save is a new file the state
then names, so a reader never pairs a new file with an old checksum.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import uuid
import zlib
from pathlib import Path

import numpy as np

from . import checksums
from .checksums import file_problem
from .keys import paper_key
from .writelock import LOCK_WAIT_S, IndexBusy, WriterLock

# Inverted lists over k-means cells, vectors stored as 8-bit codes (1M x 384 dims in ~400 MB);
# a search visits ANN_SEARCH's cells. HNSW32,SQ8 was tried first: at a million papers its
# recall@10 stayed near 0.8 where this reaches 1.0 (bench/search.py), at a sixth of the build time.
ANN_SEARCH = "nprobe=32"
ANN_THRESHOLD = 200_000  # below this, exact search is fast enough and exactly right
APPENDED = ("vectors.f32", "ids.txt", "keys.i64")  # append-only, one row per vector
log = logging.getLogger("paperradar.index")


class ReindexNeeded(RuntimeError):
    """The vectors on disk were built by another model."""


class Damaged(Exception):
    """The files disagree with each other or with their recorded checksums."""


class VectorFiles:
    """`problem`: damage this process found when opening (the index was emptied for it; the
    indexer refills it from the vectors the store keeps). `last_repair`: the latest such
    emptying by any process, {"at", "problem"}."""

    shared = False  # each process holds the rows in memory: `refresh` takes on other processes' writes

    def __init__(self, path: Path, model: str, dim: int, *, ann_threshold: int = ANN_THRESHOLD,
                 fresh: bool = False, lock_wait: float = LOCK_WAIT_S):
        self.path, self.model, self.dim, self.ann_threshold = path, model, dim, ann_threshold
        self.lock = WriterLock(path.with_name(path.name + ".lock"), "vector index", lock_wait,
                               on_acquire=self._follow)
        self.problem: str | None = None
        self._state: dict | None = None  # the state the rows in memory reflect
        self._state_seen: tuple | None = None  # state.json's inode, size and time at the last `refresh`
        self._fd: int | None = None
        self.path.mkdir(parents=True, exist_ok=True)
        if fresh:  # a rebuild: whatever model built the old files, start empty
            self.reset()
        else:
            self.verify()

    # --- opening -------------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        """state.json: {} when there is none, None when it is unreadable."""
        try:
            state = json.loads((self.path / "state.json").read_text())
            return state if isinstance(state, dict) else None
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return None

    @property
    def last_repair(self) -> dict | None:
        return (self._read_state() or {}).get("repaired")

    def verify(self, full: bool = False) -> str | None:
        """Load the index, checking its files (every byte with `full`, else those changed since
        they were written). Damage empties the index and is returned; None when it is whole."""
        problem = self._open(full)
        if problem is None:
            if self.ids and "files" not in self._state:  # written before states kept checksums
                self._record_checksums()
            return None
        try:
            with self.lock.held():  # confirmed with no writer at work
                problem = self._open(full)
                if problem is not None:
                    self._discard(problem)
        except IndexBusy as e:  # left as it is; the writer's own next open repairs it
            log.warning("the vector index in %s looks damaged (%s) but %s", self.path, problem, e)
            self._load({})
        return problem

    def _open(self, full: bool) -> str | None:
        """Load the index as its state describes it; the damage found, or None. A state that
        changed meanwhile (a writer committed) is read again rather than taken for damage."""
        for _ in range(3):
            state = self._read_state()
            problem = self._open_state(state, full)
            if problem is None or self._read_state() == state:
                break
        if problem is not None:
            self._load({})  # nothing half-loaded stays in use
        return problem

    def _open_state(self, state: dict | None, full: bool) -> str | None:
        if state is None:
            return "state.json is unreadable"
        if state and (state.get("model") != self.model or state.get("dim") != self.dim):
            raise ReindexNeeded(
                f"the vector index in {self.path} was built with model {state.get('model')!r} but the "
                f"configured model is {self.model!r}: run `paperradar reindex` to rebuild it")
        if not state and any((self.path / name).exists() for name in APPENDED):
            return "state.json is missing"
        try:
            for name, recorded in (state.get("files") or {}).items():
                problem = file_problem(self.path / name, recorded, full)
                if problem:
                    return f"{name} {problem}"
            self._load(state)
        except Damaged as e:
            return str(e)
        except (OSError, ValueError, TypeError, AttributeError) as e:  # a file or the state is garbage
            return f"its files cannot be read ({type(e).__name__}: {str(e)[:200]})"
        return None

    def _discard(self, problem: str) -> None:
        log.warning("the vector index in %s is damaged: %s; emptied, it is refilled from the vectors "
                    "the store keeps", self.path, problem)
        self.problem = problem
        self.reset(repaired={"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                             "problem": problem})

    def _follow(self) -> None:
        """On taking the lock: reload if another process wrote the index since we read it."""
        state = self._read_state()
        if self._state is not None and state != self._state:
            if not (state is not None and self._extend(state)):
                if problem := self._open(full=False):
                    self._discard(problem)
        if getattr(self, "ann", None) is not None and self.ann.ntotal < len(self.ids):
            self._add_to_ann(self.ann.ntotal)  # rows `refresh` took on: ANN ids are row numbers

    def refresh(self) -> bool:
        """Pick up what another process committed since this one loaded the index; True when
        something changed. Cheap when nothing did (a stat of state.json). Rows appended since
        are read and checked alone (`_extend`: their CRC continues the one we hold); anything
        else (a reset, a repair, a rebuilt ANN index) reopens the folder. Without the writer
        lock: writers only append past the sizes the state records and write the state last,
        so the files up to those sizes never change under a reader. A thread of this process
        that is writing the index makes this a no-op (it updates what is in memory itself)."""
        try:
            st = os.stat(self.path / "state.json")
        except OSError:
            return False
        seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        if seen == self._state_seen or not self.lock._thread_lock.acquire(blocking=False):
            return False
        try:
            state = self._read_state()
            if state is None or state == self._state:
                self._state_seen = seen
                return False
            if not self._extend(state):
                self.verify()
            self._state_seen = seen
            return True
        finally:
            self.lock._thread_lock.release()

    def _extend(self, state: dict) -> bool:
        """Take on the rows another process appended and the rows it marked deleted, if that
        is all that changed (same build, same ANN file or none); False otherwise, or when the
        appended bytes fail their checksum (the caller then reopens, which finds the damage).
        What searches read is swapped in whole objects, so a search running meanwhile sees
        either the old rows or the new ones."""
        old = self._state or {}
        if not old or state.get("build") != old.get("build") or state.get("model") != self.model:
            return False
        n_old, n = len(self.ids), int(state.get("rows", 0))
        if n < n_old or int(state.get("seq", 0)) < self.seq:
            return False
        if bool(state.get("ann_file")) != (self.ann is not None):
            return False  # an ANN index was built (or dropped): load it whole
        files = state.get("files") or {}
        for name in APPENDED:
            before, after = self._files.get(name), files.get(name)
            if before is None or after is None or after[0] < before[0]:
                return False
            if after[0] > before[0] and checksums.crc32(self.path / name, after[0], before[0], before[1]) != after[1]:
                return False
        try:
            with open(self.path / "ids.txt", "rb") as f:
                f.seek(self._files["ids.txt"][0])
                new_ids = f.read(files["ids.txt"][0] - self._files["ids.txt"][0]).decode().split("\n")[:-1]
            new_keys = np.fromfile(self.path / "keys.i64", dtype=np.int64, count=n - n_old, offset=n_old * 8)
        except (OSError, ValueError):
            return False
        if len(new_ids) != n - n_old or len(new_keys) != n - n_old:
            return False
        deleted = set(state.get("deleted", ()))
        row_of = dict(self.row_of)
        for i, pid in enumerate(new_ids, start=n_old):
            if i not in deleted:
                row_of[pid] = i
        for row in deleted - self.deleted:
            if row < n_old and row_of.get(self.ids[row]) == row:
                del row_of[self.ids[row]]
        # ids first (a search indexes them by the rows it found), the matrix, then what is live.
        self.ids.extend(new_ids)
        self.keys = np.concatenate([self.keys, new_keys])
        if self._fd is None and n:
            self._fd = os.open(self.path / "vectors.f32", os.O_RDONLY)  # the same file: new rows show through it
        self.vectors = (np.asarray(np.memmap(self.path / "vectors.f32", dtype=np.float32, mode="r", shape=(n, self.dim)))
                        if n else np.zeros((0, self.dim), np.float32))
        self.deleted = deleted
        self.row_of = row_of
        self._by_key = None
        self.seq = int(state.get("seq", 0))
        # The ANN index in memory stays: rows past it are searched exactly (`VectorIndex.search`)
        # until this process writes (`_follow` adds them first). The state names the other
        # process's ANN file, which holds at least the rows ours does.
        self._files = dict(files)
        self._state = state
        return True

    def _load(self, state: dict) -> None:
        """The rows `state` counts (bytes past them were appended by a write that never recorded
        its state: not part of the index); raises Damaged when the files disagree."""
        vec_file, ids_file, kfile = (self.path / name for name in APPENDED)
        self.seq = int(state.get("seq", 0))
        lines = ids_file.read_text().split("\n")[:-1] if state and ids_file.exists() else []
        n = int(state.get("rows", len(lines)))
        if len(lines) < n:
            raise Damaged(f"{ids_file.name} lists {len(lines)} papers; {n} were written")
        self.ids: list[str] = lines[:n]
        if n and (not vec_file.exists() or vec_file.stat().st_size < n * self.dim * 4):
            raise Damaged(f"{vec_file.name} is shorter than {ids_file.name}")
        self._map_vectors()
        self.deleted: set[int] = set(state.get("deleted", ()))
        if "deleted" not in state and (self.path / "deleted.json").exists():  # before the state kept them
            self.deleted = set(json.loads((self.path / "deleted.json").read_text()))
        self.row_of = {pid: i for i, pid in enumerate(self.ids) if i not in self.deleted}
        self.keys = np.fromfile(kfile, dtype=np.int64, count=n) if n and kfile.exists() else np.zeros(0, np.int64)
        if len(self.keys) != n:
            raise Damaged(f"{kfile.name} is out of step with {ids_file.name}")
        self._by_key = None
        self.ann = None
        ann_file = self.path / state.get("ann_file", "ann.faiss")
        if state and ann_file.exists():
            import faiss

            try:
                self.ann = faiss.read_index(str(ann_file))
            except RuntimeError as e:
                raise Damaged(f"{ann_file.name} is unreadable ({str(e).splitlines()[0][:200]})") from None
            faiss.ParameterSpace().set_index_parameters(self.ann, ANN_SEARCH)
            if self.ann.ntotal > n:
                raise Damaged(f"{ann_file.name} is out of step with the vectors")
            # The ANN file is saved at the end of a sync, not after every batch (it is large);
            # rows appended after the last save are added back here.
            self._add_to_ann(self.ann.ntotal)
        elif state.get("ann_file"):
            raise Damaged(f"{ann_file.name} is missing")
        self._files = dict(state.get("files") or {})
        self._state = state

    def _map_vectors(self) -> None:
        # Memory-mapped for exact search and for building the ANN index; searches with an ANN
        # index read single rows instead (`_rows`).
        n = len(self.ids)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path / "vectors.f32", os.O_RDONLY) if n else None
        self._row_cache: dict[int, np.ndarray] = {}
        # (np.asarray: a plain ndarray view of the map; memmap-typed results are slow to work with)
        self.vectors = (np.asarray(np.memmap(self.path / "vectors.f32", dtype=np.float32, mode="r", shape=(n, self.dim)))
                        if n else np.zeros((0, self.dim), np.float32))

    def reset(self, repaired: dict | None = None) -> None:
        """Empty the index (for the configured model)."""
        with self.lock.held():
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir(parents=True)
            self._state = {"model": self.model, "dim": self.dim, "seq": 0, "rows": 0, "build": uuid.uuid4().hex,
                           **({"repaired": repaired} if repaired else {})}
            self._write_state(self._state)
            self._load(self._state)

    # --- writing -------------------------------------------------------------------------------
    def _write_state(self, state: dict) -> None:
        """The commit point of every change: the files as the state records them are the index."""
        tmp = self.path / "state.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(self.path / "state.json")

    def _commit(self, **changes) -> None:
        self._state = {**(self._state or {}), "model": self.model, "dim": self.dim, **changes,
                       "files": dict(self._files)}
        self._write_state(self._state)

    def _committed(self, name: str) -> list[int]:
        """[size, crc, mtime] of an appended file as the last state left it (measured once for
        an index written before states recorded them)."""
        if name not in self._files:
            n = len(self.ids)
            size = {"vectors.f32": n * self.dim * 4, "keys.i64": n * 8,
                    "ids.txt": sum(len(pid.encode()) + 1 for pid in self.ids)}[name]
            path = self.path / name
            self._files[name] = checksums.record(path, size, checksums.crc32(path, size)) if size else [0, 0, 0]
        return self._files[name]

    def _record_checksums(self) -> None:
        """Record the checksums of an index written before states kept them (its bytes are
        taken as they are: nothing says otherwise)."""
        try:
            with self.lock.held():
                if "files" not in self._state:
                    for name in APPENDED:
                        self._committed(name)
                    self._commit(deleted=sorted(self.deleted))
        except IndexBusy:
            pass  # the writer's next commit records them

    def _append(self, name: str, data: bytes) -> None:
        """Append after the committed bytes (cutting off any a killed write left) and keep the
        file's CRC-32 running, so it is never read again to record it."""
        size, crc, _ = self._committed(name)
        path = self.path / name
        with open(path, "ab") as f:
            f.truncate(size)
            f.write(data)
        self._files[name] = checksums.record(path, size + len(data), zlib.crc32(data, crc))

    def apply(self, upserts: list[tuple[str, np.ndarray]], removals: list[str], seq: int) -> None:
        """Add or replace vectors, remove papers, and remember the store seq they reflect."""
        with self.lock.held():
            for pid in removals + [pid for pid, _ in upserts]:
                row = self.row_of.pop(pid, None)
                if row is not None:
                    self.deleted.add(row)
            if upserts:
                new = np.vstack([v for _, v in upserts]).astype(np.float32)
                start = len(self.ids)
                new_keys = np.array([paper_key(pid) for pid, _ in upserts], dtype=np.int64)
                self._append("vectors.f32", new.tobytes())
                self._append("ids.txt", "".join(pid + "\n" for pid, _ in upserts).encode())
                self._append("keys.i64", new_keys.tobytes())
                self.keys = np.concatenate([self.keys, new_keys])
                self.ids.extend(pid for pid, _ in upserts)
                self._map_vectors()
                self.row_of.update({pid: start + i for i, (pid, _) in enumerate(upserts)})
                rebuilt = False
                if self.ann is not None and not self._outgrown():
                    self.ann.add(new)
                elif len(self.ids) >= self.ann_threshold:
                    self._build_ann()
                    rebuilt = True
            self._by_key = None
            self.seq = seq
            # the deleted rows live in the state: one atomic write commits them with the rows
            self._commit(seq=seq, rows=len(self.ids), deleted=sorted(self.deleted), ann=self.ann is not None)
            if upserts and rebuilt:
                self.flush()

    def _build_ann(self) -> None:
        import faiss

        n = len(self.vectors)
        cells = int(4 * np.sqrt(n))  # the usual 4·√N; fixed at build, `reindex` rebuilds it
        # L2 on unit vectors ranks exactly as cosine does
        index = faiss.index_factory(self.dim, f"IVF{cells},SQ8", faiss.METRIC_L2)
        rows = np.sort(np.random.default_rng(0).choice(n, min(n, 40 * cells), replace=False))
        index.train(np.ascontiguousarray(self.vectors[rows]))
        faiss.ParameterSpace().set_index_parameters(index, ANN_SEARCH)
        self.ann = index
        self._add_to_ann(0)

    def _outgrown(self) -> bool:
        """True once the collection has quadrupled since the cells were chosen: rebuild them."""
        import faiss

        return int(4 * np.sqrt(len(self.ids))) > 2 * faiss.extract_index_ivf(self.ann).nlist

    def _add_to_ann(self, start: int) -> None:
        for i in range(start, len(self.ids), 50_000):  # in slices: never the whole matrix in RAM
            self.ann.add(np.ascontiguousarray(self.vectors[i:i + 50_000]))

    def flush(self) -> None:
        """Save the ANN index (if any); call at the end of a sync. Each save is a new file that
        the state then names, so a reader never pairs a new file with an old checksum."""
        if self.ann is None:
            return
        import faiss

        with self.lock.held():
            name = f"ann-{uuid.uuid4().hex[:12]}.faiss"
            tmp, final = self.path / (name + ".tmp"), self.path / name
            faiss.write_index(self.ann, str(tmp))
            tmp.replace(final)
            self._files = {k: v for k, v in self._files.items() if not k.startswith("ann")}
            self._files[name] = checksums.record(final, final.stat().st_size, checksums.crc32(final))
            self._commit(ann_file=name)
            for old in self.path.glob("ann*.faiss"):
                if old.name != name:
                    old.unlink(missing_ok=True)
