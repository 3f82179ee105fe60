"""What every command shares: settings from the global options, consoles, progress bars, errors."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                           TimeRemainingColumn)
from rich.text import Text
from typer.core import TyperGroup

from ..config import Settings
from ..errors import UserError
from ..radar import Radar
from ..search.lexical import IndexBusy
from ..search.query import QueryError
from ..search.vectors import ReindexNeeded
from ..embed import EmbedError
from ..sources.errors import SourceError

out = Console(soft_wrap=True)
err = Console(stderr=True)
EXPECTED = (UserError, SourceError, QueryError, IndexBusy, OSError, ReindexNeeded, EmbedError)


class Group(TyperGroup):
    """Turns any failure inside a command into one line on stderr and exit status 1."""

    def invoke(self, ctx) -> Any:
        try:
            return super().invoke(ctx)
        except EXPECTED as e:
            fail(str(e))
        except Exception as e:  # never a traceback for a user; PAPERRADAR_DEBUG shows one
            if os.environ.get("PAPERRADAR_DEBUG") or type(e).__module__.startswith(("click", "typer")):
                raise
            fail(f"unexpected {type(e).__name__}: {e} (set PAPERRADAR_DEBUG=1 for details)")


def fail(message: str) -> None:
    """Print one line on stderr and exit with status 1."""
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def settings(ctx: typer.Context) -> Settings:
    return ctx.find_root().obj["settings"]


@contextmanager
def radar(ctx: typer.Context) -> Iterator[Radar]:
    r = Radar(settings(ctx))
    try:
        yield r
    finally:
        r.close()


class RateColumn(ProgressColumn):
    """Records per second."""

    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="cyan")


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (so --json output stays clean); silent when not a terminal."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  RateColumn(), TimeRemainingColumn(),
                  console=err, disable=not err.is_terminal, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str, ensure_ascii=False))


def sync_indexes(r: Radar) -> int:
    """Catch the indexes up with the store, with a progress bar for each that has work."""
    pending = r.indexer.pending()
    if pending.get("lexical"):
        with progress_bar("indexing keywords", pending["lexical"]) as advance:
            r.indexer.sync_lexical(advance)
    if pending.get("vectors"):
        with progress_bar("embedding", pending["vectors"]) as advance:
            r.indexer.sync_vectors(advance)
    if r.vector_problem:
        err.print(f"[yellow]warning:[/] search by meaning is off: {r.vector_problem}", highlight=False)
    return sum(pending.values())
