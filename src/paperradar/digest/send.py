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

Faults that are not the recipient's
-----------------------------------
* A connection that cannot talk to the server at all (refused, timed out, TLS, AUTH, our
  sender refused, 421) puts its row back as it was, the attempt not counted, and closes; the
  other connections carry on and the row is claimed again for one of them. So a server that
  allows fewer connections than `smtp_connections` gets the ones it allows, and when none is
  left the run stops (`SendSummary.stopped`) with every row still due: an outage of ours or of
  our server never makes a digest `failed`.
* A database write that fails with the database locked or unreachable (another process holding
  a lock, a PostgreSQL restart) is tried again for `store_patience` seconds, so a message the
  server took is recorded once the database answers, not sent again. If it never answers, the
  run stops: nothing more is sent, rows not yet attempted go back, and any the database would
  not take stay `sending` until the next run takes them back (as after a crash).
* A transport that cannot be built (a bad SMTP URL) raises from `run` before anything is
  claimed; no thread of a run dies with rows in its hands.
"""

from __future__ import annotations

import datetime as dt
import itertools
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.exc import DBAPIError, OperationalError

from ..processes import has_ended, this_process
from ..store import OutboxItem, Store
from .transport import Outgoing, PermFailure, TempFailure, Transport

MAX_BACKOFF = 3600.0


class Skip(Exception):
    """Raised by a build function: this row must not be sent (e.g. the subscriber left)."""


class StoreFailure(Exception):
    """The database did not take a write within the sender's patience (or refused it outright)."""


@dataclass
class SendSummary:
    sent: int = 0
    retry_later: int = 0  # temp_failed, will be tried again
    failed: int = 0
    suppressed: int = 0  # addresses suppressed during this run
    cancelled: int = 0  # rows not sent because the subscriber is no longer active
    resumed: int = 0  # rows found in `sending` from a dead process, resent
    errors: list[str] = field(default_factory=list)  # one line per failure, for the report
    stopped: str | None = None  # why the run stopped early: "the mail server / database is not usable: ..."


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


# Owners of the runs in progress in this process. A run's owner is "host:pid/n", so two runs at
# once in one process (the worker's schedule and a command, two threads) tell theirs apart.
_RUN_NUMBERS = itertools.count(1)
_RUNNING: set[str] = set()


def process_gone(owner: str | None) -> bool:
    """True when a `sending` row's owner can no longer finish it: no owner, a run of this very
    process that has ended without recording a result (not one still running beside the
    caller), or a process on this host that no longer runs (`processes.has_ended`; another
    machine's process: only the lease can tell)."""
    if not owner or ":" not in owner:
        return True
    if owner.partition("/")[0] == this_process():
        return owner not in _RUNNING
    return has_ended(owner)


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
        store_patience: float = 120.0,
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
        self.store_patience = store_patience
        self.clock = clock
        self.sleep = sleep
        self.owner = owner or f"{this_process()}/{next(_RUN_NUMBERS)}"
        self.batch = batch

    def run(self, up_to: dt.date, *, only_subscriber: int | None = None,
            progress: Callable[[OutboxItem, str], None] | None = None) -> SendSummary:
        """Send every due row dated up to `up_to`; returns what happened."""
        # Built before anything is claimed: a transport that cannot be configured raises here.
        transports = [self.transport_factory() for _ in range(self.connections)]
        _RUNNING.add(self.owner)
        try:
            return _Run(self, transports, progress).go(up_to, only_subscriber)
        finally:
            _RUNNING.discard(self.owner)

    def call_store(self, fn: Callable, *args, deadline: float | None = None, **kw):
        """`fn(*args, **kw)`, tried again while the database is locked or unreachable, until
        `deadline` (monotonic; default `store_patience` from now); then `StoreFailure`."""
        deadline = time.monotonic() + self.store_patience if deadline is None else deadline
        delay = 0.2
        while True:
            try:
                return fn(*args, **kw)
            except DBAPIError as e:
                transient = isinstance(e, OperationalError) or e.connection_invalidated
                if not transient or time.monotonic() + delay > deadline:
                    raise StoreFailure(_first_line(e)) from e
            self.sleep(delay)
            delay = min(delay * 2, 5.0)

    def attempt(self, item: OutboxItem, transport: Transport) -> "_Result":
        """Render and send one row; the result carries the store write that records it (not
        made here, so the caller can retry it or keep it for later), dated when it happened."""
        store, now, sid = self.store, self.clock(), item.id
        try:
            message = self.call_store(self.build, item)  # reads papers: a locked database is waited for
        except Skip as e:
            note = f"not sent: {e}"
            return _Result("cancelled", lambda: store.outbox_failed(sid, note, now, permanent=False,
                                                                    suppress_after=self.suppress_after))
        except StoreFailure:
            raise
        except Exception as e:  # a row that cannot be rendered must not stop the others
            error = f"rendering digest {item.message_id}: {type(e).__name__}: {e}"
            return _Result("failed", lambda: store.outbox_failed(sid, error, now, permanent=False,
                                                                 suppress_after=self.suppress_after), error)
        try:
            transport.send(message)
        except PermFailure as e:
            now, error = self.clock(), str(e)
            return _Result("failed", lambda: store.outbox_failed(sid, error, now, permanent=True,
                                                                 suppress_after=self.suppress_after),
                           f"{message.recipient}: {error}")
        except TempFailure as e:
            now, error = self.clock(), str(e)
            if e.server_down:  # the connection's problem: the row goes back untouched
                note = f"not sent, not counted as an attempt: {error}"
                return _Result("server_down", lambda: store.release_outbox([sid], now, note=note), error)
            if item.attempts >= self.max_attempts:
                error = f"gave up after {item.attempts} attempts: {error}"
                return _Result("failed", lambda: store.outbox_failed(sid, error, now, permanent=False,
                                                                     suppress_after=self.suppress_after),
                               f"{message.recipient}: {error}")
            delay = min(self.retry_base * 2 ** (item.attempts - 1), MAX_BACKOFF)
            due = now + dt.timedelta(seconds=delay)
            return _Result("retry", lambda: store.outbox_retry(sid, error, due, now),
                           f"{message.recipient}: {error} (retry in {delay:.0f}s)")
        except Exception as e:  # a transport bug must not leave the row in `sending`
            now, error = self.clock(), f"unexpected {type(e).__name__}: {e}"
            due = now + dt.timedelta(seconds=self.retry_base)
            return _Result("retry", lambda: store.outbox_retry(sid, error, due, now), f"{message.recipient}: {error}")
        now = self.clock()
        reset = item.subscriber_id if item.subscriber is not None and item.subscriber.permanent_failures > 0 else None
        return _Result("sent", lambda: store.outbox_sent(sid, now, subscriber_id=reset))


@dataclass
class _Result:
    outcome: str  # sent, cancelled, failed, retry, server_down
    record: Callable[[], object]  # the store write that records it
    error: str | None = None


def _first_line(e: DBAPIError) -> str:
    text = str(getattr(e, "orig", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class _Run:
    """One `Sender.run`: the main thread claims rows and hands them out, one thread per
    connection sends them; no thread leaves with rows in its hands."""

    def __init__(self, sender: Sender, transports: list[Transport],
                 progress: Callable[[OutboxItem, str], None] | None):
        self.sender = sender
        self.progress = progress
        self.summary = SendSummary()
        self.todo: queue.Queue[OutboxItem | None] = queue.Queue(maxsize=2 * len(transports))
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.live = len(transports)  # connections still usable
        self.bounced = 0  # rows a failing connection put back during the run (claimed again)
        self.unsent: list[int] = []  # claimed, then not attempted because the run stopped
        self.unrecorded: list[tuple[OutboxItem, _Result]] = []  # results the database did not take
        self.threads = [threading.Thread(target=self._connection, args=(t,), name=f"digest-smtp-{i}", daemon=True)
                        for i, t in enumerate(transports)]

    def go(self, up_to: dt.date, only_subscriber: int | None) -> SendSummary:
        for t in self.threads:
            t.start()
        try:
            self._hand_out(up_to, only_subscriber)
        except StoreFailure as e:
            self._stopping(f"the database is not usable: {e}")
        except BaseException:  # Ctrl-C: rows not yet attempted go back, those in flight are recorded
            self.stop.set()
            raise
        finally:
            for _ in self.threads:
                self.todo.put(None)
            for t in self.threads:
                t.join()
            self._settle()
        return self.summary

    def _hand_out(self, up_to: dt.date, only_subscriber: int | None) -> None:
        s = self.sender
        released = s.call_store(s.store.release_stale_outbox, now=s.clock(), lease=s.lease, is_gone=process_gone)
        self.summary.resumed = len(released)
        next_slot = time.monotonic()
        while not self.stop.is_set():
            bounced = self.bounced
            batch = s.call_store(s.store.claim_outbox, up_to=up_to, now=s.clock(), owner=s.owner,
                                 limit=s.batch, only_subscriber=only_subscriber)
            if not batch:
                # Done, unless a connection that failed put rows back meanwhile: wait for the
                # rows in flight, then claim those again for the connections that work.
                self.todo.join()
                if self.bounced == bounced:
                    return
                continue
            for k, item in enumerate(batch):
                if self.stop.is_set():
                    with self.lock:
                        self.unsent.extend(i.id for i in batch[k:])
                    return
                if s.interval:
                    wait = next_slot - time.monotonic()
                    if wait > 0:
                        s.sleep(wait)
                    next_slot = max(next_slot, time.monotonic()) + s.interval
                self.todo.put(item)

    def _connection(self, transport: Transport) -> None:
        """One connection's thread: send what it is handed until told to stop."""
        try:
            while (item := self.todo.get()) is not None:
                try:
                    if self.stop.is_set():
                        with self.lock:
                            self.unsent.append(item.id)
                    elif not self._send_one(item, transport):
                        return  # this connection cannot reach the server; the others go on
                except Exception as e:  # a bug (say, in `progress`) must not leave rows to a dead thread
                    with self.lock:
                        self.unsent.append(item.id)  # a no-op if its result was recorded
                    self._stopping(f"unexpected {type(e).__name__}: {e}")
                finally:
                    self.todo.task_done()
            self.todo.task_done()
        finally:
            try:
                transport.close()
            except Exception:  # closing a broken connection must not hide what happened
                pass

    def _send_one(self, item: OutboxItem, transport: Transport) -> bool:
        """Send and record one row; False when this connection is done for."""
        s = self.sender
        try:
            result = s.attempt(item, transport)
        except StoreFailure as e:  # could not even read what to send
            with self.lock:
                self.unsent.append(item.id)
            self._stopping(f"the database is not usable: {e}")
            return True
        keep = True
        if result.outcome == "server_down":
            with self.lock:
                self.live -= 1
                last = self.live == 0
            if last:
                self._stopping(f"the mail server is not usable: {result.error}")
            else:
                keep = False
                with self.lock:
                    self.summary.errors.append(f"a connection failed, sending through the others: {result.error}")
        try:
            value = s.call_store(result.record)
        except StoreFailure as e:
            with self.lock:
                self.unrecorded.append((item, result))
            self._stopping(f"the database is not usable: {e}")
            return True  # keep draining the queue so the main thread is never left waiting
        self._recorded(item, result, value)
        return keep

    def _recorded(self, item: OutboxItem, result: _Result, value: object) -> None:
        with self.lock:
            summary, error = self.summary, result.error
            if result.outcome == "server_down":
                self.bounced += 1
                return
            if result.outcome == "sent":
                summary.sent += 1
            elif result.outcome == "cancelled":
                summary.cancelled += 1
            elif result.outcome == "failed":
                summary.failed += 1
                if value is True:
                    summary.suppressed += 1
                    error = f"{error} (address suppressed)"
            else:
                summary.retry_later += 1
            if error:
                summary.errors.append(error)
            if self.progress:
                self.progress(item, result.outcome)

    def _stopping(self, why: str) -> None:
        with self.lock:
            if self.summary.stopped is None:
                self.summary.stopped = why
        self.stop.set()

    def _settle(self) -> None:
        """After the threads: record what the database did not take in time, put back what was
        not attempted. One more `store_patience` in all, then what is left stays `sending`."""
        s = self.sender
        deadline = time.monotonic() + s.store_patience
        left = 0
        for item, result in self.unrecorded:
            try:
                self._recorded(item, result, s.call_store(result.record, deadline=deadline))
            except StoreFailure:
                left += 1
        if self.unsent:
            try:
                s.call_store(s.store.release_outbox, self.unsent, s.clock(), deadline=deadline)
            except StoreFailure:
                left += len(self.unsent)
        if left:
            self.summary.stopped = (f"{self.summary.stopped}; {left} digest{'s' if left != 1 else ''} left "
                                    "`sending`, taken back by the next run")
