"""The outbox sender: moves planned digests through pending -> sending -> sent / temp_failed /
failed, one row at a time, over any transport.

It depends on two small interfaces (listmonk's shape): the store's outbox methods and a
`Transport.send(message)`; rendering is a function from an outbox row to a message. A run
can stop anywhere and the next run carries on.

Crash policy for rows caught in `sending`
-----------------------------------------
Rows are claimed in small batches (one committed transaction moves them to `sending`) and each
result is committed as soon as the server answers. A process that dies in between leaves the
rest of its batch in `sending`: none of them left except the ones in flight (at most one per
SMTP connection), and for those nothing tells us whether the server took the message: SMTP acknowledges only after the whole DATA, so a crash
(or a dropped connection) after the body went out and before the 250 was recorded is
undecidable (RFC 1047). Our policy is at-least-once on the wire, exactly-once per digest:

* At the start of a run, `sending` rows whose claiming process is gone (same host, PID no
  longer running) or whose claim is older than the lease (`digest_sending_lease`, for other
  hosts) go back to `pending`, with a note in `last_error`.
* They are then sent again with the SAME Message-ID (fixed at planning), so a receiver that
  did get the first copy sees a duplicate of one message, which mail clients fold together,
  never a second digest. Only the rows in flight at the moment of the crash (one per
  connection; `smtp_connections`, 1 makes it a single row) can be affected; every other row
  is either sent (recorded) or never left the outbox (the rest of the batch: resending them is
  their first delivery).
* Choosing at-most-once instead would silently drop that digest whenever the crash came before
  the server took it, which is the likelier case; we prefer a possible duplicate.

Retries: 4xx, timeouts and dropped connections are `temp_failed` with `next_attempt_at`
= now + retry_base * 2^(attempts-1) (capped at an hour); after `max_attempts` the row is
`failed`. 5xx is `failed` at once and counts against the address; `suppress_after`
permanent failures in a row suppress it (a success resets the count).
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..store import OutboxItem, Store
from .transport import Outgoing, PermFailure, TempFailure, Transport

MAX_BACKOFF = 3600.0


class Skip(Exception):
    """Raised by a build function: this row must not be sent (e.g. the subscriber left)."""


@dataclass
class SendSummary:
    sent: int = 0
    retry_later: int = 0  # temp_failed, will be tried again
    failed: int = 0
    suppressed: int = 0  # addresses suppressed during this run
    cancelled: int = 0  # rows not sent because the subscriber is no longer active
    resumed: int = 0  # rows found in `sending` from a dead process, resent
    errors: list[str] = field(default_factory=list)  # one line per failure, for the report
    stopped: str | None = None  # why the run stopped early (the mail server is unreachable)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_gone(owner: str | None) -> bool:
    """True when `owner` ("host:pid") is a process on this host that no longer runs."""
    if not owner or ":" not in owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process: only the lease can tell
    if int(pid) == os.getpid():
        return True  # an earlier run in this very process ended without recording a result
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Sender:
    """Sends due outbox rows over `connections` SMTP connections (one thread each).

    The main thread claims batches and hands rows out; each connection's thread renders, sends
    and records its row's result itself, so a result is committed as soon as the server answers.
    """

    def __init__(
        self,
        store: Store,
        transport_factory: Callable[[], Transport],
        build: Callable[[OutboxItem], Outgoing],
        *,
        connections: int = 1,
        rate: float = 0.0,
        max_attempts: int = 5,
        retry_base: float = 60.0,
        suppress_after: int = 3,
        lease: float = 900.0,
        clock: Callable[[], dt.datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        owner: str | None = None,
        batch: int = 50,
    ):
        self.store = store
        self.transport_factory = transport_factory
        self.build = build
        self.connections = max(1, connections)
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.suppress_after = suppress_after
        self.lease = dt.timedelta(seconds=lease)
        self.clock = clock
        self.sleep = sleep
        self.owner = owner or this_process()
        self.batch = batch
        self._lock = threading.Lock()

    def run(self, up_to: dt.date, *, only_subscriber: int | None = None,
            progress: Callable[[OutboxItem, str], None] | None = None) -> SendSummary:
        """Send every due row dated up to `up_to`; returns what happened."""
        summary = SendSummary()
        released = self.store.release_stale_outbox(now=self.clock(), lease=self.lease, is_gone=process_gone)
        summary.resumed = len(released)
        todo: queue.Queue[OutboxItem | None] = queue.Queue(maxsize=2 * self.connections)
        stop = threading.Event()
        unsent: list[int] = []  # claimed, then not attempted because the run stopped

        def worker() -> None:
            transport = self.transport_factory()
            try:
                while (item := todo.get()) is not None:
                    if stop.is_set():
                        with self._lock:
                            unsent.append(item.id)
                        continue
                    outcome = self._deliver(item, transport, summary)
                    if outcome == "server_down":  # the rest would fail alike: stop handing out
                        stop.set()
                    if progress:
                        with self._lock:
                            progress(item, outcome)
            finally:
                transport.close()

        threads = [threading.Thread(target=worker, name=f"digest-smtp-{i}", daemon=True)
                   for i in range(self.connections)]
        for t in threads:
            t.start()
        next_slot = time.monotonic()
        try:
            while not stop.is_set():
                batch = self.store.claim_outbox(up_to=up_to, now=self.clock(), owner=self.owner,
                                                limit=self.batch, only_subscriber=only_subscriber)
                if not batch:
                    break
                for k, item in enumerate(batch):
                    if stop.is_set():
                        unsent.extend(i.id for i in batch[k:])
                        break
                    if self.interval:
                        wait = next_slot - time.monotonic()
                        if wait > 0:
                            self.sleep(wait)
                        next_slot = max(next_slot, time.monotonic()) + self.interval
                    todo.put(item)
        finally:
            for _ in threads:
                todo.put(None)
            for t in threads:
                t.join()
        if unsent:
            self.store.release_outbox(unsent, self.clock())
        return summary

    def _deliver(self, item: OutboxItem, transport: Transport, summary: SendSummary) -> str:
        """Render, send and record one row; returns the outcome."""
        try:
            message = self.build(item)
        except Skip as e:
            self.store.outbox_failed(item.id, f"not sent: {e}", self.clock(), permanent=False,
                                     suppress_after=self.suppress_after)
            return self._count(summary, "cancelled")
        except Exception as e:  # a row that cannot be rendered must not stop the others
            error = f"rendering digest {item.message_id}: {type(e).__name__}: {e}"
            self.store.outbox_failed(item.id, error, self.clock(), permanent=False,
                                     suppress_after=self.suppress_after)
            return self._count(summary, "failed", error)
        try:
            transport.send(message)
        except PermFailure as e:
            suppressed = self.store.outbox_failed(item.id, str(e), self.clock(), permanent=True,
                                                  suppress_after=self.suppress_after)
            return self._count(summary, "failed", f"{message.recipient}: {e}" + (" (address suppressed)" if suppressed else ""),
                               suppressed=suppressed)
        except TempFailure as e:
            now = self.clock()
            if item.attempts >= self.max_attempts:
                error = f"gave up after {item.attempts} attempts: {e}"
                self.store.outbox_failed(item.id, error, now, permanent=False, suppress_after=self.suppress_after)
                return self._count(summary, "failed", f"{message.recipient}: {error}")
            delay = min(self.retry_base * 2 ** (item.attempts - 1), MAX_BACKOFF)
            self.store.outbox_retry(item.id, str(e), now + dt.timedelta(seconds=delay), now)
            error = f"{message.recipient}: {e} (retry in {delay:.0f}s)"
            if e.server_down:
                return self._count(summary, "server_down", error)
            return self._count(summary, "retry", error)
        except Exception as e:  # a transport bug must not leave the row in `sending`
            now = self.clock()
            self.store.outbox_retry(item.id, f"unexpected {type(e).__name__}: {e}", now + dt.timedelta(seconds=self.retry_base), now)
            return self._count(summary, "retry", f"{message.recipient}: unexpected {type(e).__name__}: {e}")
        reset = item.subscriber is not None and item.subscriber.permanent_failures > 0
        self.store.outbox_sent(item.id, self.clock(), subscriber_id=item.subscriber_id if reset else None)
        return self._count(summary, "sent")

    def _count(self, summary: SendSummary, outcome: str, error: str | None = None, *, suppressed: bool = False) -> str:
        with self._lock:
            if outcome == "sent":
                summary.sent += 1
            elif outcome == "cancelled":
                summary.cancelled += 1
            elif outcome == "failed":
                summary.failed += 1
                summary.suppressed += int(suppressed)
            else:
                summary.retry_later += 1
                if outcome == "server_down" and summary.stopped is None:
                    summary.stopped = error
            if error:
                summary.errors.append(error)
        return outcome
