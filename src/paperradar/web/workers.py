"""How the web processes of `serve --workers N` get their connections: a listening socket each.

With one socket shared by every process, Linux wakes the process that waited last first, so the
busiest process, which waits in short gaps between requests, accepts most new connections, and a
keep-alive connection stays where it was accepted: in 2 of 6 runs of bench/scaleout.py's
keyword load (8 connections, 2 processes) every connection was on one process, the other idle,
at 40% of the throughput of the balanced runs. Each worker therefore listens on a socket of
its own bound to the same port (SO_REUSEPORT), and the kernel spreads new connections over them
by a hash of their addresses: both processes busy in every run since. A worker that dies takes
its socket with it, so new connections go to the living ones until its replacement listens
again (the connections already queued on its socket are reset, unless the kernel migrates them:
`net.ipv4.tcp_migrate_req=1`, docs/deploy.md). While the workers serve, the parent holds a
guard socket on the port (SO_REUSEPORT, never listening), so another `paperradar serve` there
fails at once with its one-line error instead of sharing the port. Only on Linux: elsewhere
(macOS, the BSDs) SO_REUSEPORT does not spread TCP connections, so the workers share their
parent's socket there.
(Closing keep-alive connections every 20 requests, so that a bad draw would not last, cost a
third of the throughput: it was dropped.)
"""

from __future__ import annotations

import errno
import socket
import sys

from uvicorn.supervisors import multiprocess


OWN_SOCKETS = sys.platform.startswith("linux")


def bind(host: str, port: int, *, shared: bool = False) -> socket.socket:
    """A socket bound to (host, port); `shared`: other `shared` sockets may bind it too.

    Raises OSError with a message saying what to do (a busy port, an address not ours)."""
    # SO_REUSEADDR as uvicorn sets it: a restart need not wait for old connections' TIME_WAIT.
    options = [socket.SO_REUSEADDR] + ([socket.SO_REUSEPORT] if shared else [])
    return _bound(host, port, options, f"port {port} on {host} is in use (another paperradar serve?); "
                                       "stop it or choose another with --port")


def guard(host: str, port: int) -> socket.socket:
    """The parent's hold on the port while its workers bind their own sockets to it: shared
    (theirs may join it) but without SO_REUSEADDR, so a socket that does not share, as the
    busy-port check of another server, cannot bind. It never listens, so it takes no connections."""
    return _bound(host, port, [socket.SO_REUSEPORT], f"port {port} on {host} was taken while paperradar "
                                                     "prepared to serve; stop the other server or choose "
                                                     "another port with --port")


def _bound(host: str, port: int, options: list[int], busy: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    for option in options:
        sock.setsockopt(socket.SOL_SOCKET, option, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise OSError(e.errno, busy) from None
        raise OSError(e.errno, f"cannot listen on {host} port {port}: {e.strerror or e}") from None
    return sock


class OwnSocketProcess(multiprocess.Process):
    """uvicorn's worker process, serving a socket of its own instead of its parent's."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # runs in the worker
        from .serving import STARTUP_FAILURE

        try:
            sock = bind(self.config.host, self.config.port, shared=True)
        except OSError as e:
            print(f"error: web worker cannot start: {e.strerror}", file=sys.stderr, flush=True)
            sys.exit(STARTUP_FAILURE)
        super().target([sock])


def use_own_sockets() -> None:
    """Make uvicorn's supervisor start `OwnSocketProcess`es (it names its process class at each
    start and restart of a worker)."""
    multiprocess.Process = OwnSocketProcess
