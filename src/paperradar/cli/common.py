"""What every command shares: settings from the global options, consoles, progress bars, errors."""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                           TimeRemainingColumn)
from rich.text import Text
from sqlalchemy.exc import StatementError
from typer.core import TyperGroup

from ..config import Settings
from ..errors import UserError
from ..radar import Radar
from ..search.lexical import IndexBusy, IndexDamaged
from ..search.query import QueryError
from ..search.vectors import ReindexNeeded
from ..embed import EmbedError
from ..sources.errors import SourceError

out = Console(soft_wrap=True)
err = Console(stderr=True)
log = logging.getLogger("paperradar.cli")
MAX_ERROR_CHARS = 300  # of an unexpected error's message
EXPECTED = (UserError, SourceError, QueryError, IndexBusy, IndexDamaged, OSError, ReindexNeeded, EmbedError)


class Group(TyperGroup):
    """Turns any failure inside a command into one line on stderr and exit status 1."""

    def invoke(self, ctx) -> Any:
        try:
            return super().invoke(ctx)
        except EXPECTED as e:
            fail(" ".join(str(e).split()))
        except Exception as e:  # never a traceback for a user; PAPERRADAR_DEBUG shows one
            if os.environ.get("PAPERRADAR_DEBUG") or type(e).__module__.startswith(("click", "typer")):
                raise
            log.debug("unexpected error", exc_info=True)
            fail(f"unexpected {unexpected_line(e)} (set PAPERRADAR_DEBUG=1 for details)")


def unexpected_line(e: Exception) -> str:
    """`Type: first line of the message`, never more: a database error's text goes on with the
    statement and its parameters (subscriber addresses, topics) and PostgreSQL's DETAIL lines
    quote rows, so only the driver's own first line is shown; the rest is for the debug log."""
    cause = getattr(e, "orig", None) if isinstance(e, StatementError) else None
    shown = cause if isinstance(cause, BaseException) else e
    lines = [line.strip() for line in str(shown).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(first) > MAX_ERROR_CHARS:
        first = first[:MAX_ERROR_CHARS] + "…"
    return f"{type(shown).__name__}: {first}" if first else type(shown).__name__


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


class Advance:
    """What `progress_bar` yields: call it with how many were done; `total(n)` when the total is
    known only once the work has started."""

    def __init__(self, bar: Progress, task) -> None:
        self.bar, self.task = bar, task

    def __call__(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)

    def total(self, n: int) -> None:
        self.bar.update(self.task, total=n)


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Advance]:
    """A progress bar on stderr (so --json output stays clean); silent when not a terminal."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  RateColumn(), TimeRemainingColumn(),
                  console=err, disable=not err.is_terminal, transient=False) as bar:
        yield Advance(bar, bar.add_task(label, total=total))


def reembed(r: Radar):
    """Move search to the configured embedding model (`reembed.run`) with a progress bar and
    ETA; returns what it did (`reembed.Reembedded`)."""
    from .. import reembed as job

    if r.active == r.wanted:
        return job.run(r)
    with progress_bar(f"embedding with {r.wanted}", None) as advance:
        return job.run(r, advance, before=advance.total)


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str, ensure_ascii=False))


def sync_indexes(r: Radar, *, strict: bool = False, quiet_model_notice: bool = False) -> int:
    """Catch the indexes up with the store, with a progress bar for each that has work.

    An index that another process keeps writing for longer than `index_lock_wait_s` is left
    behind with a warning: the papers are in the store, and the next sync catches it up. With
    `strict` (reindex) that is an error instead. When the settings name another embedding model
    than the one search uses, it says how to switch (unless `quiet_model_notice`)."""
    pending = r.indexer.pending()
    for name, label, sync in (("lexical", "indexing keywords", r.indexer.sync_lexical),
                              ("vectors", "embedding", r.indexer.sync_vectors)):
        if not pending.get(name):
            continue
        try:
            with progress_bar(label, pending[name]) as advance:
                sync(advance)
        except IndexBusy as e:
            if strict:
                raise
            err.print(f"[yellow]warning:[/] {e}; the papers are stored and the index catches up at the next "
                      "command that syncs it", highlight=False, soft_wrap=True)
    if r.vector_problem:
        err.print(f"[yellow]warning:[/] search by meaning is off: {r.vector_problem}", highlight=False)
    if r.active != r.wanted and not quiet_model_notice:
        err.print(f"[yellow]note:[/] search by meaning uses {r.active} until `paperradar reembed` has embedded "
                  f"the papers with {r.wanted} (the worker also does it at its next run)", highlight=False,
                  soft_wrap=True)
    return sum(pending.values())
