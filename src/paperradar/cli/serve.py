"""`paperradar serve`: load the demo corpus into an empty store, index, serve the web app."""

from __future__ import annotations

import errno
import socket
from typing import Optional

import typer

from ..errors import UserError
from ..radar import Radar
from ..topics import build as topics
from .common import err, settings, sync_indexes


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything else happens: a busy port is a one-line error
    at once, not a "serving at" line (after loading the corpus) followed by uvicorn's error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restart need not wait for the old connections' TIME_WAIT to pass.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is in use (another paperradar serve?); "
                            "stop it or choose another with --port") from None
        raise UserError(f"cannot listen on {host} port {port}: {e.strerror or e}") from None
    return sock


def serve(
    ctx: typer.Context,
    host: Optional[str] = typer.Option(None, help="Bind address (default 127.0.0.1, env PAPERRADAR_HOST)."),
    port: Optional[int] = typer.Option(None, help="Port (default 8000, env PAPERRADAR_PORT)."),
    demo: bool = typer.Option(True, help="Load the bundled demo corpus when the store is empty."),
) -> None:
    """Serve the web pages, JSON API and feeds."""
    import uvicorn

    from ..web.app import create_app

    s = settings(ctx)
    if host:
        s.host = host
    if port:
        s.port = port
    sock = listening_socket(s.host, s.port)
    try:
        r = Radar(s)  # one Radar for the whole process: the indexes are loaded once
        try:
            if demo:
                report = r.load_demo_if_empty()
                if report:
                    err.print(f"loaded the demo corpus: {report.added} papers")
            sync_indexes(r)
            fitted = topics.ensure(r.store, r.settings.embedding_name, per_topic=r.settings.topics_per_topic)
            if fitted:
                err.print(f"topics: {fitted}", highlight=False)
            if r.vectors is not None and len(r.vectors):
                r.query_embedder()  # loaded now rather than by the first search (a second or two)
            err.print(f"paperradar serving {s.data_dir.resolve()} at http://{s.host}:{s.port}",
                      highlight=False, soft_wrap=True)  # one line, the URL unbroken, even in a narrow log
            server = uvicorn.Server(uvicorn.Config(create_app(s, r), host=s.host, port=s.port, log_level="warning"))
            try:
                server.run(sockets=[sock])
            except KeyboardInterrupt:  # Ctrl+C: uvicorn has shut down cleanly and passes the signal on
                pass
            if not server.started:
                raise UserError("the web app did not start (see the log above)")
        finally:
            r.close()
    finally:
        sock.close()


def register(app: typer.Typer) -> None:
    app.command()(serve)
