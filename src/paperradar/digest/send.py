"""The outbox sender: moves planned digests through pending -> sending -> sent / temp_failed /
failed, one row at a time, over any transport.

It depends on two small interfaces (listmonk's shape): the store's outbox methods and a
`Transport.send(message)`; rendering is a function from an outbox row to a message. A run
can stop anywhere and the next run carries on.

Crash policy for rows caught in `sending`
-----------------------------------------
A row is `sending` from the moment it is claimed (one committed transaction) until its result
is recorded (another). A process that dies in between leaves it there, and nothing tells us
whether the server took the message: SMTP acknowledges only after the whole DATA, so a crash
(or a dropped connection) after the body went out and before the 250 was recorded is
undecidable (RFC 1047). Our policy is at-least-once on the wire, exactly-once per digest:

* At the start of a run, `sending` rows whose claiming process is gone (same host, PID no
  longer running) or whose claim is older than the lease (`digest_sending_lease`, for other
  hosts) go back to `pending`, with a note in `last_error`.
* They are then sent again with the SAME Message-ID (fixed at planning), so a receiver that
  did get the first copy sees a duplicate of one message, which mail clients fold together,
  never a second digest. Only the single row in flight at the moment of the crash can be
  affected; every other row is either sent (recorded) or never left the outbox.
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
import socket
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
    def __init__(
        self,
        store: Store,
        transport: Transport,
        build: Callable[[OutboxItem], Outgoing],
        *,
        rate: float = 0.0,
        max_attempts: int = 5,
        retry_base: float = 60.0,
        suppress_after: int = 3,
        lease: float = 900.0,
        clock: Callable[[], dt.datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        owner: str | None = None,
    ):
        self.store = store
        self.transport = transport
        self.build = build
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.suppress_after = suppress_after
        self.lease = dt.timedelta(seconds=lease)
        self.clock = clock
        self.sleep = sleep
        self.owner = owner or this_process()

    def run(self, up_to: dt.date, *, only_subscriber: int | None = None,
            progress: Callable[[OutboxItem, str], None] | None = None) -> SendSummary:
        """Send every due row dated up to `up_to`; returns what happened."""
        summary = SendSummary()
        released = self.store.release_stale_outbox(now=self.clock(), lease=self.lease, is_gone=process_gone)
        summary.resumed = len(released)
        next_slot = time.monotonic()
        try:
            while True:
                item = self.store.claim_outbox(up_to=up_to, now=self.clock(), owner=self.owner,
                                               only_subscriber=only_subscriber)
                if item is None:
                    break
                if self.interval:
                    wait = next_slot - time.monotonic()
                    if wait > 0:
                        self.sleep(wait)
                    next_slot = max(next_slot, time.monotonic()) + self.interval
                outcome = self._deliver(item, summary)
                if progress:
                    progress(item, outcome)
                if outcome == "server_down":  # the rest would fail alike: leave them pending
                    summary.stopped = summary.errors[-1]
                    break
        finally:
            self.transport.close()
        return summary

    def _deliver(self, item: OutboxItem, summary: SendSummary) -> str:
        try:
            message = self.build(item)
        except Skip as e:
            self.store.outbox_failed(item.id, f"not sent: {e}", self.clock(), permanent=False,
                                     suppress_after=self.suppress_after)
            summary.cancelled += 1
            return "cancelled"
        except Exception as e:  # a row that cannot be rendered must not stop the others
            error = f"rendering digest {item.message_id}: {type(e).__name__}: {e}"
            self.store.outbox_failed(item.id, error, self.clock(), permanent=False,
                                     suppress_after=self.suppress_after)
            summary.failed += 1
            summary.errors.append(error)
            return "failed"
        try:
            self.transport.send(message)
        except PermFailure as e:
            suppressed = self.store.outbox_failed(item.id, str(e), self.clock(), permanent=True,
                                                  suppress_after=self.suppress_after)
            summary.failed += 1
            summary.suppressed += int(suppressed)
            summary.errors.append(f"{message.recipient}: {e}" + (" (address suppressed)" if suppressed else ""))
            return "failed"
        except TempFailure as e:
            now = self.clock()
            if item.attempts >= self.max_attempts:
                self.store.outbox_failed(item.id, f"gave up after {item.attempts} attempts: {e}", now,
                                         permanent=False, suppress_after=self.suppress_after)
                summary.failed += 1
                summary.errors.append(f"{message.recipient}: gave up after {item.attempts} attempts: {e}")
                return "failed"
            delay = min(self.retry_base * 2 ** (item.attempts - 1), MAX_BACKOFF)
            self.store.outbox_retry(item.id, str(e), now + dt.timedelta(seconds=delay), now)
            summary.retry_later += 1
            summary.errors.append(f"{message.recipient}: {e} (retry in {delay:.0f}s)")
            return "server_down" if e.server_down else "retry"
        self.store.outbox_sent(item.id, self.clock())
        summary.sent += 1
        return "sent"
