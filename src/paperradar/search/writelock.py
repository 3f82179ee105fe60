"""One writer at a time per index folder, across processes and threads: an flock beside the folder.

Two `ingest` runs on one data dir both sync the indexes when they finish. tantivy refuses the
second writer outright ("LockBusy"), and two processes appending to the vector files at once
would interleave their rows. Every write to an index (sync, reset, repair) holds this lock; a
second writer waits for it, a bounded time, and then re-reads the index, which the first writer
has moved on. The lock file sits beside the folder, not in it: a reset deletes the folder, and a
lock on a deleted file would exclude nobody.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

POLL_S = 0.05
LOCK_WAIT_S = 60.0  # default; PAPERRADAR_INDEX_LOCK_WAIT_S


class IndexBusy(RuntimeError):
    """Another process kept writing the index for longer than we were willing to wait."""


class WriterLock:
    """Reentrant within a thread: a sync that resets and then refills takes it once."""

    def __init__(self, path: Path, what: str, wait_s: float, on_acquire: Callable[[], None] | None = None):
        self.path, self.what, self.wait_s = path, what, wait_s
        self._on_acquire = on_acquire  # re-read the index: another process may have written it
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._patience = threading.local()  # a shorter wait for this thread (`patience`)

    @contextmanager
    def patience(self, wait_s: float | None) -> Iterator[None]:
        """Within the block, this thread's `held` waits at most `wait_s` (None: the usual wait).
        The background follower uses a short one: an index another process is writing is
        looked at again a moment later instead of holding the follower up."""
        before = getattr(self._patience, "wait_s", None)
        self._patience.wait_s = wait_s
        try:
            yield
        finally:
            self._patience.wait_s = before

    @contextmanager
    def held(self) -> Iterator[None]:
        wait_s = getattr(self._patience, "wait_s", None)
        wait_s = self.wait_s if wait_s is None else min(wait_s, self.wait_s)
        deadline = time.monotonic() + wait_s
        if not self._thread_lock.acquire(timeout=max(wait_s, 0)):
            raise self._busy("another thread of this process")
        try:
            if self._depth == 0:
                self._fd = self._lock_file(deadline)
            self._depth += 1
            try:
                if self._depth == 1 and self._on_acquire:
                    self._on_acquire()  # held already, so what it writes is under the lock too
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release_file()
        finally:
            self._thread_lock.release()

    def _lock_file(self, deadline: float) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder(fd)
                    os.close(fd)
                    raise self._busy(holder) from None
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)  # who holds it, for the message another process prints while waiting
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _release_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    @staticmethod
    def _holder(fd: int) -> str:
        pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return f"process {pid}" if pid.isdigit() else "another process"

    def _busy(self, holder: str) -> IndexBusy:
        return IndexBusy(f"the {self.what} ({self.path.with_suffix('')}) is being written by {holder}, "
                         f"which did not finish within {self.wait_s:g} s (PAPERRADAR_INDEX_LOCK_WAIT_S)")
