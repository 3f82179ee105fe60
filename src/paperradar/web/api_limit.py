"""The API's per-client rate limit, shared by every web process through the store, written in
batches rather than once per request.

Counting each /api/ request in the store was a write transaction per request (on SQLite the
database's write lock, on PostgreSQL a row lock every process queues on). Here each process
counts a client's requests in memory and adds them to the store's counter (`ratelimits.hit`,
one upsert) once `batch` have gathered, or on its first request after `flush_s`. The store's
answer (the window's count so far, from every process) is remembered, and a request that could
take the client past the limit is counted in the store at once, so the store decides every
request near the limit exactly as before.

The trade-off: with P processes, a client can get up to P × (batch − 1) requests more than the
limit (requests counted in one process's memory that another has not seen yet), and a window's
last uncounted requests in a process that gets no more from that client are never written. With
the default 500 per 5 minutes and a batch of 1/50 of the limit (10), that is 2% per process;
a limit under 50 is counted exactly (a batch of 1).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

BATCH_SHARE = 50  # a batch is 1/50 of the limit
FLUSH_S = 1.0  # a client's requests are written at least this often while it keeps asking
MAX_CLIENTS = 100_000  # in-memory counters kept; the oldest go first (their hits are written)


@dataclass
class _Count:
    shared: int = 0  # the store's count for the window, at this process's last write
    pending: int = 0  # counted here, not yet written
    written_at: float = 0.0  # monotonic time of the last write


class ApiLimiter:
    def __init__(self, store, limit: int, window_s: int, *, batch: int | None = None, flush_s: float = FLUSH_S,
                 clock=time.monotonic):
        self.store, self.limit, self.window = store, limit, dt.timedelta(seconds=window_s)
        self.window_s = window_s
        self.batch = batch if batch is not None else max(1, limit // BATCH_SHARE)
        self.flush_s, self.clock = flush_s, clock
        self._counts: dict[str, _Count] = {}
        self._lock = threading.Lock()

    async def allow(self, key: str) -> bool:
        """Count a request of `key`; False when it is over the limit (answer 429)."""
        now = self.clock()
        with self._lock:
            c = self._counts.get(key)
            if c is None:
                if len(self._counts) >= MAX_CLIENTS:
                    self._counts.pop(next(iter(self._counts)))  # oldest client; its few hits are forgotten
                c = self._counts[key] = _Count(written_at=now)
            if now - c.written_at > self.window_s:
                c.shared = 0  # the store's window has surely restarted since
            c.pending += 1
            near = c.shared + c.pending + self.batch > self.limit
            if not near and c.pending < self.batch and now - c.written_at < self.flush_s:
                return True
            hits, c.pending, c.written_at = c.pending, 0, now
        count = await run_in_threadpool(self._write, key, hits)
        with self._lock:
            c.shared = count
        return count <= self.limit

    def _write(self, key: str, hits: int) -> int:
        return self.store.count_rate_hits(key, hits, window=self.window)
