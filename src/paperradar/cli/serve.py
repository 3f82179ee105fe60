"""`paperradar serve`: load the demo corpus into an empty store, index, serve the web app."""

from __future__ import annotations

from typing import Optional

import typer

from ..radar import Radar
from .common import err, settings, sync_indexes


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
    r = Radar(s)  # one Radar for the whole process: the indexes are loaded once
    if demo:
        report = r.load_demo_if_empty()
        if report:
            err.print(f"loaded the demo corpus: {report.added} papers")
    sync_indexes(r)
    if r.vectors is not None and len(r.vectors):
        r.query_embedder()  # loaded now rather than by the first search (a second or two)
    err.print(f"paperradar serving {s.data_dir.resolve()} at http://{s.host}:{s.port}")
    try:
        uvicorn.run(create_app(s, r), host=s.host, port=s.port, log_level="warning")
    finally:
        r.close()


def register(app: typer.Typer) -> None:
    app.command()(serve)
