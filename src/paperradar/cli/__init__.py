"""The `paperradar` command. Each area registers its commands from its own module."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from pydantic import ValidationError

from ..config import Settings
from . import community, digest, doctor, evaluate, harvest, ingest, migrate, papers, reembed, secret, serve, subscribers, topics
from .common import Group, fail

app = typer.Typer(
    cls=Group,
    help="paperradar: a self-hosted research-paper radar (harvest, search, digests).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Plain (click) help: Typer's Rich help prints a type after every option, flags included
    # (`--json <bool>`), which reads as if the flag took a value. Subcommands inherit this.
    rich_markup_mode=None,
)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", "-d", envvar="PAPERRADAR_DATA_DIR",
        help="Data directory (database, indexes, secret, outbox). Default ./data."),
) -> None:
    overrides = {"data_dir": data_dir} if data_dir else {}
    try:
        ctx.obj = {"settings": Settings(**overrides)}
    except ValidationError as e:  # a bad environment variable: one line naming it
        fail("; ".join(f"PAPERRADAR_{'_'.join(map(str, x['loc'])).upper()}: {x['msg'].removeprefix('Value error, ')}"
                       for x in e.errors()))


serve.register(app)
ingest.register(app)
papers.register(app)
evaluate.register(app)
harvest.register(app)
subscribers.register(app)
digest.register(app)
community.register(app)
topics.register(app)
secret.register(app)
doctor.register(app)
reembed.register(app)
migrate.register(app)


def main() -> None:
    app()
