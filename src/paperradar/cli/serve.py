"""`paperradar serve`: load the demo corpus into an empty store, index, serve the web app.

With `--workers N` (default: one per core) the one-time work (demo load, index sync, topic fit)
is done once here, holding the port, then N processes serve it, each on a socket of its own
(web/workers.py; uvicorn's supervisor: a worker that dies is replaced; one that cannot start
stops the server with its reason). Each worker keeps its own index replicas fresh by following
the store (web/serving.py). `--workers 1` serves from this process.
"""

from __future__ import annotations

import socket
from typing import Optional

import typer

from ..config import Settings
from ..embed.embedder import available_cores
from ..errors import UserError
from ..radar import Radar
from ..topics import build as topics
from .common import err, settings, sync_indexes


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything else happens: a busy port is a one-line error
    at once, not a "serving at" line (after loading the corpus) followed by uvicorn's error."""
    from ..web.workers import bind

    try:
        return bind(host, port)
    except OSError as e:
        raise UserError(e.strerror) from None


def worker_count(asked: int) -> int:
    """0 means one per core this process may run on."""
    return asked or available_cores()


def serve(
    ctx: typer.Context,
    host: Optional[str] = typer.Option(None, help="Bind address (default 127.0.0.1, env PAPERRADAR_HOST)."),
    port: Optional[int] = typer.Option(None, help="Port (default 8000, env PAPERRADAR_PORT)."),
    workers: Optional[int] = typer.Option(
        None, "--workers", "-w", min=0,
        help="Web processes on the port (default: one per core, env PAPERRADAR_WORKERS); 1 serves from this process."),
    demo: bool = typer.Option(True, help="Load the bundled demo corpus when the store is empty."),
) -> None:
    """Serve the web pages, JSON API and feeds."""
    s = settings(ctx)
    if host:
        s.host = host
    if port:
        s.port = port
    n = worker_count(s.workers if workers is None else workers)
    sock = listening_socket(s.host, s.port)
    s.port = sock.getsockname()[1]  # the port itself when asked for 0 (any free one): workers bind that
    try:
        r = Radar(s)
        try:
            _prepare(r, demo)
            if n == 1:
                _announce(s)
                _serve_here(s, r, sock)
                return
        finally:
            r.close()  # with workers, this process only supervises: they build their own
        err.print(f"starting {n} web workers", highlight=False)
        _announce(s)
        _serve_workers(s, sock, n)
    finally:
        sock.close()


def _prepare(r: Radar, demo: bool) -> None:
    """The one-time work before serving: the demo corpus, the indexes caught up, the topics."""
    if demo:
        report = r.load_demo_if_empty()
        if report:
            err.print(f"loaded the demo corpus: {report.added} papers")
    sync_indexes(r)
    fitted = topics.ensure(r.store, r.active, per_topic=r.settings.topics_per_topic)
    if fitted:
        err.print(f"topics: {fitted}", highlight=False)
    if r.vectors:
        # Loaded (and on first use built into the models folder) here, once: workers then find
        # the built graph instead of building it side by side.
        r.query_embedder()


def _announce(s: Settings) -> None:
    err.print(f"paperradar serving {s.data_dir.resolve()} at http://{s.host}:{s.port}",
              highlight=False, soft_wrap=True)  # one line, the URL unbroken, even in a narrow log


def _serve_here(s: Settings, r: Radar, sock: socket.socket) -> None:
    import uvicorn

    from ..web.serving import serving_app

    server = uvicorn.Server(uvicorn.Config(serving_app(s, r), host=s.host, port=s.port, log_level="warning"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl+C: uvicorn has shut down cleanly and passes the signal on
        pass
    if not server.started:
        raise UserError("the web app did not start (see the log above)")


def _serve_workers(s: Settings, sock: socket.socket, n: int) -> None:
    import uvicorn

    from ..web.serving import STARTUP_FAILURE, settings_for_workers
    from ..web.workers import OWN_SOCKETS, guard

    # Workers are spawned by uvicorn's supervisor: its parent/child health pings, restarts and
    # signal handling (SIGINT/SIGTERM stop all, SIGHUP replaces them one by one) are well tried.
    settings_for_workers(s.model_copy(update={"data_dir": s.data_dir.resolve()}))
    config = uvicorn.Config("paperradar.web.serving:worker_app", factory=True, host=s.host, port=s.port,
                            workers=n, log_level="warning")
    held = None
    if OWN_SOCKETS:  # each worker binds a socket of its own; this process keeps only a guard
        sock.close()
        try:
            held = guard(s.host, s.port)
        except OSError as e:
            raise UserError(e.strerror) from None
    try:
        supervisor = _supervisor(config, None if OWN_SOCKETS else sock)
        supervisor.run()
    finally:
        if held is not None:
            held.close()
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        raise UserError("the web workers could not start (the reason is above)")
    err.print(f"paperradar stopped ({n} web workers)", highlight=False)


def _supervisor(config, shared: socket.socket | None):
    """uvicorn's supervisor; its workers serve `shared`, or else each a socket of its own."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    from ..web.serving import STARTUP_FAILURE
    from ..web.workers import use_own_sockets

    if shared is None:
        use_own_sockets()

    class Supervisor(Multiprocess):
        """uvicorn's, saying (at the default log level) when a worker died and is replaced."""

        def keep_subprocess_alive(self) -> None:
            if not self.should_exit.is_set():
                for p in self.processes:
                    code = p.exitcode
                    if code is not None and code != STARTUP_FAILURE:
                        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
                        err.print(f"[yellow]warning:[/] web worker {p.pid} stopped ({how}); starting another",
                                  highlight=False)
            super().keep_subprocess_alive()

    return Supervisor(config, sockets=[] if shared is None else [shared])


def register(app: typer.Typer) -> None:
    app.command()(serve)
