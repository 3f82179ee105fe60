"""`paperradar secret check|reset`: the secret for CSRF form tokens and signed links.

The secret lives in the store, shared by every process and data dir (secret_key.py). Every
command that needs it refuses to start when it is missing (and the store says one existed),
empty, short or unreadable; `reset` is the explicit way to start over.
"""

from __future__ import annotations

import typer

from .. import secret_key
from ..store import Store
from .common import out, settings

app = typer.Typer(help="The secret that signs links in emails and form tokens.", no_args_is_help=True)


@app.command()
def check(ctx: typer.Context) -> None:
    """Say whether the secret can be used, with its fingerprint to compare with a backup's (a new
    data dir gets its secret now, as with any command that needs it)."""
    s = settings(ctx)
    store = Store.from_settings(s)
    try:
        secret = s.secret_key(store)
    finally:
        store.close()
    out.print(f"the secret in the database: ok (fingerprint {secret_key.fingerprint(secret)})", highlight=False)


@app.command()
def reset(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Replace the secret with a new one: links in mail already sent stop working, running
    servers must be restarted. The old secret is kept in a file of the data dir."""
    if not yes:
        typer.confirm("Links in mail already sent will stop working and running servers must be restarted. "
                      "Replace the secret?", abort=True)
    s = settings(ctx)
    store = Store.from_settings(s)
    try:
        new, kept = secret_key.reset(s.ensure_data_dir(), store)
    finally:
        store.close()
    out.print(f"new secret in the database (fingerprint {new}); restart every running server and worker",
              highlight=False)
    if kept:
        out.print(f"the old one is in {kept}: to keep the old links working, add its value to "
                  "PAPERRADAR_PREVIOUS_SECRET_KEYS", highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="secret")
