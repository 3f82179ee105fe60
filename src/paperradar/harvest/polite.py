"""Polite HTTP GETs for arXiv: one connection, a pace between requests, Retry-After, bounded retries.

arXiv asks harvesters for at most one request every 3 seconds over a single connection and uses
`503 Retry-After` for flow control (OAI-PMH 2.0 §3.5). `PoliteClient.fetch` waits at least
`pace_s` after the previous response ended before sending, honours Retry-After given in seconds
(0 included) or as an HTTP-date, retries other failures (connection drops, timeouts, 5xx, bodies
the caller's parser rejects) with exponential backoff, and after `retries` retries raises
`FetchError` saying what failed last.

`timeout_s` bounds each whole response, from connecting to the last body byte: a server that
trickles a byte now and then never lets a per-read timeout fire, so every socket connect, read
and write is cut short at the response's deadline (`_Deadline`).
"""

from __future__ import annotations

import datetime as dt
import time
from email.utils import parsedate_to_datetime
from typing import Callable, TypeVar

import httpcore
import httpx

from .. import __version__
from ..sources.errors import SourceError

T = TypeVar("T")
# A Retry-After longer than this is treated as the upstream being unavailable, not flow control.
MAX_RETRY_AFTER_S = 3600.0
MAX_BACKOFF_S = 300.0


class FetchError(Exception):
    """An upstream that kept failing (or refused outright): one line saying what and where."""

    def __init__(self, url: str, message: str):
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}")


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


class _Deadline(httpcore.NetworkBackend):
    """httpcore's socket backend with every connect, read and write ending by `at` (monotonic).

    httpx times each socket operation on its own; giving each one only the time left until the
    deadline bounds the whole exchange.
    """

    def __init__(self):
        self.at: float | None = None  # None: no request in progress, no limit
        self._backend = httpcore.SyncBackend()

    def left(self, timeout: float | None, expired: type[Exception]) -> float | None:
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise expired("the response deadline has passed")
        return left if timeout is None else min(timeout, left)

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._backend.connect_tcp(host, port, self.left(timeout, httpcore.ConnectTimeout),
                                           local_address, socket_options)
        return _DeadlineStream(stream, self)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._backend.connect_unix_socket(path, self.left(timeout, httpcore.ConnectTimeout), socket_options)
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline):
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> "_DeadlineStream":
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class PoliteClient:
    """GETs over one keep-alive connection, spaced `pace_s` apart, with bounded retries; each
    response (connect to last byte) must be complete within `timeout_s`."""

    def __init__(self, *, pace_s: float = 3.0, retries: int = 5, backoff_s: float = 5.0,
                 timeout_s: float = 120.0, user_agent: str | None = None):
        self.pace_s = pace_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.requests = 0  # requests sent, retries included
        self._last_done: float | None = None  # monotonic time the previous response ended
        self._client = httpx.Client(
            # A single connection, as arXiv asks: never two requests in flight.
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": user_agent or f"paperradar/{__version__} (self-hosted paper radar)"},
            follow_redirects=True,
        )
        # httpx has no public way to give its connection pools a network backend; httpcore's
        # pools take one, and this is where httpx keeps them (proxies from the environment
        # included). The trickle tests in test_ops_faults fail if that ever changes.
        self._deadline = _Deadline()
        for transport in (self._client._transport, *self._client._mounts.values()):
            if transport is not None:
                transport._pool._network_backend = self._deadline

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "PoliteClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, url: str, params: dict, parse: Callable[[bytes], T]) -> T:
        """GET `url` and return `parse(body)`; `parse` raising SourceError counts as a failed try.

        Anything else `parse` raises (an OAI-PMH protocol error, say) propagates at once.
        """
        wait = 0.0
        last_error = "no attempt made"
        for attempt in range(self.retries + 1):
            self._pause(wait)
            self._deadline.at = time.monotonic() + self.timeout_s
            try:
                response = self._client.get(url, params=params)
                body = response.content
            except httpx.TransportError as exc:
                if self._deadline.passed():
                    last_error = f"no complete response within {self.timeout_s:g} s"
                else:
                    last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                wait = self._backoff(attempt)
                continue
            finally:
                self._deadline.at = None
                self._last_done = time.monotonic()
                self.requests += 1
            status = response.status_code
            if status in (503, 429):
                after = retry_after_seconds(response.headers.get("Retry-After"))
                if after is not None and after > MAX_RETRY_AFTER_S:
                    raise FetchError(url, f"HTTP {status} asks to retry after {after:.0f} s; giving up")
                last_error = f"HTTP {status}" + (f" (Retry-After {after:g} s)" if after is not None else "")
                wait = after if after is not None else self._backoff(attempt)
                continue
            if status >= 500:
                last_error = f"HTTP {status}"
                wait = self._backoff(attempt)
                continue
            if status >= 400:
                raise FetchError(str(response.url), f"HTTP {status} {response.reason_phrase}".rstrip())
            try:
                return parse(body)
            except SourceError as exc:
                last_error = exc.message
                wait = self._backoff(attempt)
        raise FetchError(url, f"gave up after {self.retries + 1} attempts; last error: {last_error}")

    def _backoff(self, attempt: int) -> float:
        return min(MAX_BACKOFF_S, self.backoff_s * (2 ** attempt))

    def _pause(self, extra: float) -> None:
        """Sleep until both the pace and any Retry-After / backoff have passed since the last response."""
        if self._last_done is None:
            return
        due = self._last_done + max(self.pace_s, extra)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
