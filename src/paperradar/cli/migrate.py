"""`paperradar migrate`: bring the database's schema to this version (docs/deploy.md)."""

from __future__ import annotations

import typer

from ..store import Store
from ..store.db import schema
from .common import out, print_json, settings


def migrate(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print the revisions as JSON."),
) -> None:
    """Upgrade the database's schema to the newest revision, once, before new web nodes start.

    Every command does this on its own when needed (concurrent ones take turns under a lock); this
    one does only that, and says what it did."""
    store = Store.from_settings(settings(ctx))
    try:
        before, now = store.upgraded_from, sorted(schema(store.engine).current)
    finally:
        store.close()
    if json_out:
        print_json({"upgraded_from": sorted(before) if before is not None else None, "revision": now})
    elif before is None:
        out.print(f"the schema is up to date (revision {', '.join(now)})")
    else:
        out.print(f"upgraded the schema from {', '.join(sorted(before)) or 'an empty database'} to {', '.join(now)}")


def register(app: typer.Typer) -> None:
    app.command()(migrate)
