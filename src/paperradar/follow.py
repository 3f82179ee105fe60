"""Following the change feed in a running process: new papers become searchable within ~1 s.

A server's indexes are replicas of the store. Another process (a CLI ingest, the worker,
another web worker) commits papers; this thread notices (one `max(seq)` query per look, nothing
else while nothing changed), catches the keyword index up from the feed, embeds the new papers
into the vector index (pgvector on PostgreSQL, shared by every process; the data dir's files on
SQLite), and reloads vector rows another process appended to shared files. Searches never wait
for it: tantivy swaps its reader atomically after a commit, and the vector index publishes new
rows only once they are complete. Errors are logged and retried at the next look; the thread
never ends the server. docs/store.md.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("paperradar.follow")
LOCK_WAIT_S = 0.2  # an index another process is writing is left to it and looked at again next time
RETRY_MAX_S = 30.0  # the longest pause after repeated errors


class Follower:
    def __init__(self, radar, interval: float):
        self.radar, self.interval = radar, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paperradar-follow", daemon=True)
        self.looks = 0  # how many times it looked at the feed (for tests and `doctor`)
        self.last_error: str | None = None
        self._settled: int | None = None  # the store position both indexes were seen to reach
        # pgvector is searched where it is: nothing to reload, but counted when it moves
        self._shared_vectors = bool(getattr(radar.vectors, "shared", False))

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        pause = self.interval
        while not self._stop.is_set():
            try:
                self.once()
                self.last_error, pause = None, self.interval
            except Exception as e:  # noqa: BLE001 - logged and retried: the server keeps serving
                self.last_error = f"{type(e).__name__}: {e}"
                pause = min(max(pause * 2, self.interval, 0.1), RETRY_MAX_S)
                log.warning("following the store's changes failed (%s); trying again in %.1f s",
                            self.last_error, pause)
            self.looks += 1
            self._stop.wait(pause)

    def once(self) -> int:
        """One look: sync what the store has that the indexes lack; returns papers applied.
        Once both indexes reached the store's newest position, a look is two small reads (the
        feed's `max(seq)` and which embedding search uses) plus a stat of the index files
        another process of this data dir may have written."""
        from .search.writelock import IndexBusy

        r = self.radar
        if r.check_embedding():  # `reembed` finished in another process: search uses its vectors now
            self._settled = None
        top = r.store.max_seq()
        r.lexical.refresh()  # another process of this data dir committed to the keyword index
        if r.vectors is not None and not self._shared_vectors:
            r.vectors.refresh()  # rows another process appended to the vector files
        if top == self._settled:
            return 0
        done = 0
        if top > r.lexical.seq:
            try:
                done += r.indexer.sync_lexical(lock_wait=LOCK_WAIT_S)
            except IndexBusy:
                pass  # another process of this data dir is writing it; its commit shows up here
        if r.vectors is not None:
            if top > r.vectors.seq:
                started = time.monotonic()
                try:
                    n = r.indexer.sync_vectors(lock_wait=LOCK_WAIT_S)
                except IndexBusy:
                    n = 0  # another process is embedding these papers: they appear when it is done
                if n:
                    log.info("indexed %d changed papers by meaning in %.2f s", n, time.monotonic() - started)
                done += n
            reached = r.vectors.seq
            if self._shared_vectors:
                # pgvector: what other processes stored, looked at after the sync (which may have
                # found their work done) and after `reached` was read, so a settled follower,
                # which skips this until the feed moves again, has seen at least `reached`.
                r.vectors.refresh()
        if r.lexical.seq >= top and (r.vectors is None or reached >= top):
            self._settled = top
        return done
