"""arXiv at scale from the command line: `harvest arxiv`, `add`, `ingest jsonl`, `ingest hf-daily`,
`update` and `worker`. Each prints a summary (or `--json`), shows a progress bar with records/s
on a terminal, and turns an upstream or input failure into one line on stderr and exit status 1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..harvest import FetchError, add_ids, harvest_arxiv, import_hf_daily, import_jsonl, run_update, run_worker
from ..harvest.jobs import Counts, ProgressFn
from ..sources.arxiv_oai import FORMATS
from ..store import now as utcnow
from .common import err, fail, out, print_json, radar, reembed, sync_indexes
from .ingest import ingest_app

harvest_app = typer.Typer(help="Harvest papers from upstream repositories.", no_args_is_help=True)
SUMMARY = ("records", "added", "updated", "unchanged", "withdrawn", "errors", "pages", "requests")


class RecordsPerSecond(ProgressColumn):
    def render(self, task) -> Text:
        records = task.fields.get("records", 0)
        elapsed = task.elapsed or 0
        rate = f"{records / elapsed:,.0f} records/s" if elapsed > 0 and records else ""
        return Text(f"{records:,} {rate}", style="cyan")


@contextlib.contextmanager
def records_bar(label: str) -> Iterator[ProgressFn]:
    """A bar on stderr fed by the jobs' progress(records, done, total) calls; silent off a terminal."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  RecordsPerSecond(), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=err, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=None, records=0)
        yield lambda records, done, total: bar.update(task, completed=done, total=total, records=records)


def report(counts: Counts, as_json: bool, started: float, extra: dict | None = None) -> None:
    seconds = round(time.monotonic() - started, 3)
    if as_json:
        print_json({**counts.as_dict(), **(extra or {}), "seconds": seconds})
        return
    table = Table(show_header=False, box=None)
    for name in SUMMARY:
        table.add_row(name, str(getattr(counts, name)))
    table.add_row("seconds", f"{seconds:.1f}")
    out.print(table)
    for message in counts.error_messages:
        err.print(f"[yellow]skipped[/] {message}", highlight=False, soft_wrap=True)
    if counts.errors > len(counts.error_messages):  # only the first few are kept verbatim
        err.print(f"[yellow]skipped[/] …and {counts.errors - len(counts.error_messages):,} more", highlight=False)


@contextlib.contextmanager
def upstream_errors() -> Iterator[None]:
    """An upstream that kept failing is a one-line error, like a bad file."""
    try:
        yield
    except FetchError as exc:
        fail(str(exc))
    except ValueError as exc:  # a bad --set / --format / --from
        fail(str(exc))


@harvest_app.command("arxiv")
def harvest_arxiv_cmd(
    ctx: typer.Context,
    set_name: Optional[str] = typer.Option(None, "--set", help="Category (cs.LG), archive (hep-th) or OAI set (cs, physics:hep-th); default all of arXiv."),
    from_date: Optional[str] = typer.Option(None, "--from", help="YYYY-MM-DD; default: where the last harvest of this set ended."),
    until_date: Optional[str] = typer.Option(None, "--until", help="YYYY-MM-DD (inclusive)."),
    fmt: Optional[str] = typer.Option(None, "--format", help=f"OAI metadataPrefix: {' or '.join(FORMATS)} (default from settings)."),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="OAI-PMH base URL (default https://oaipmh.arxiv.org/oai)."),
    index: bool = typer.Option(True, "--index/--no-index", help="Index and embed right after harvesting."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Harvest arXiv over OAI-PMH, politely (one connection, 3 s apart), resumable after a kill."""
    for label, value in (("--from", from_date), ("--until", until_date)):
        if value is not None and not _is_date(value):
            fail(f"{label} expects YYYY-MM-DD, got {value!r}")
    started = time.monotonic()
    with radar(ctx) as r, upstream_errors(), records_bar(f"harvest {set_name or 'arXiv'}") as progress:
        counts = harvest_arxiv(r.store, r.settings, set_name, from_date, until_date, fmt, endpoint=endpoint,
                               progress=progress)
        indexed = catch_up(r) if index else {"indexed": 0, "embedded": 0}
    report(counts, as_json, started, indexed)


def add(
    ctx: typer.Context,
    refs: List[str] = typer.Argument(..., help="arXiv ids or abs/pdf URLs (2401.01234v2, hep-th/9901001, https://arxiv.org/abs/...)."),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="arXiv API URL (default https://export.arxiv.org/api/query)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Add papers by arXiv id or URL from the arXiv API. Ids that fail are listed; the rest are stored."""
    started = time.monotonic()
    with radar(ctx) as r, upstream_errors(), records_bar("add") as progress:
        result = add_ids(r.store, r.settings, refs, endpoint=endpoint, progress=progress)
        indexed = catch_up(r)
    report(result.counts, as_json, started, {"stored": result.stored, "failed": result.failed, **indexed})
    if result.failed:
        raise typer.Exit(1)


@ingest_app.command("jsonl")
def ingest_jsonl(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="arXiv metadata snapshot (JSON lines), any size."),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, help="Papers per commit (default from settings)."),
    restart: bool = typer.Option(False, "--restart", help="Forget the checkpoint and read the file from the start."),
    parallel: Optional[bool] = typer.Option(None, "--parallel/--no-parallel", help="Parse in a second process (default: for files over 32 MB)."),
    index: bool = typer.Option(True, "--index/--no-index", help="Index and embed right after importing (--no-index leaves it to the next search, `reindex` or `update`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import the arXiv metadata snapshot, streaming; a killed import resumes where it stopped."""
    started = time.monotonic()
    with radar(ctx) as r, records_bar(f"import {file.name}") as progress:
        counts = import_jsonl(r.store, file, batch=batch or r.settings.import_batch, restart=restart,
                              progress=progress, parallel=parallel)
        indexed = catch_up(r) if index else {"indexed": 0, "embedded": 0}
    report(counts, as_json, started, indexed)
    if counts.errors and not counts.records:  # not one line read: the wrong file, not a few bad records
        fail(f"{file}: no record could be read ({counts.errors:,} skipped); is it an arXiv JSON lines snapshot?")


@ingest_app.command("hf-daily")
def ingest_hf_daily(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Hugging Face Daily Papers: a saved daily_papers JSON response (.json), or JSON lines with one item per line (.jsonl), plain or gzipped (.jsonl.gz)."),
    index: bool = typer.Option(True, "--index/--no-index", help="Index and embed right after importing (--no-index leaves it to the next search, `reindex` or `update`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import Hugging Face Daily Papers (.json, .jsonl, .jsonl.gz) with their listing days, upvotes,
    comments and code links. All or nothing: a bad line stores nothing; re-importing only raises counts."""
    started = time.monotonic()
    with radar(ctx) as r:
        counts = import_hf_daily(r.store, file)
        indexed = catch_up(r) if index else {"indexed": 0, "embedded": 0}
    report(counts, as_json, started, indexed)


def update(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON.")) -> None:
    """The daily job: harvest the configured sets since their checkpoints, then index."""
    started = time.monotonic()
    with radar(ctx) as r, upstream_errors(), records_bar("update") as progress:
        counts = run_update(r.store, r.settings, progress=progress, after=lambda: catch_up(r))
    report(counts, as_json, started)


def worker(
    ctx: typer.Context,
    now: bool = typer.Option(False, "--now", help="Run one update immediately, then keep the schedule."),
    once: bool = typer.Option(False, "--once", help="Stop after one run."),
) -> None:
    """Every day at PAPERRADAR_WORKER_TIME (UTC): `update`, then send the day's digests (from
    the papers already stored if the update failed); deferred mail is retried as it falls due.

    Each run is recorded (see `stats`); a failed run never stops the next day's. With --once,
    the exit status is 1 when the update or the digests failed, 2 for mail settings that
    cannot work (checked before anything runs).
    """
    from ..digest.run import DigestService
    from .common import settings
    from .digest import check_mail_settings

    check_mail_settings(settings(ctx))  # before the store opens: nothing harvested, planned or claimed
    with radar(ctx) as r:
        digests = DigestService(r.settings, r.store, embedder=r.embedder)
        try:
            result = run_worker(r.store, r.settings, digests=digests, run_now=now, max_runs=1 if once else None,
                                update=lambda: run_update(r.store, r.settings, after=lambda: place_and_index(r)),
                                log=lambda line: err.print(line, highlight=False, soft_wrap=True))
        except KeyboardInterrupt:
            err.print("worker stopped")
            return
    if once and result.failed:
        raise typer.Exit(1)


def place_and_index(r) -> dict:
    """The worker's ingest hook: index and embed, then keep the topics current (new papers
    placed on their topics every day, a full refit on Sundays: docs/topics.md)."""
    from ..topics import build as topics

    done = catch_up(r) | reembed_if_asked(r)
    model, per_topic = r.active, r.settings.topics_per_topic
    if dt.date.today().weekday() == 6:
        try:
            topics.rebuild(r.store, model, now=utcnow(), per_topic=per_topic)
        except topics.TooFewPapers:
            pass
    else:
        topics.ensure(r.store, model, per_topic=per_topic)
    return done


def catch_up(r) -> dict:
    """The ingest hook: index (keywords) and embed (meaning) what the job changed."""
    pending = r.indexer.pending()
    sync_indexes(r)
    return {"indexed": pending.get("lexical", 0), "embedded": pending.get("vectors", 0)}


def reembed_if_asked(r) -> dict:
    """The worker's part in a change of embedding model: re-embed every paper, then switch
    search over (`paperradar reembed`; resumes where a killed run stopped)."""
    done = reembed(r)
    return {"reembedded": done.papers} if done.previous else {}


def runs_table(store, limit: int = 5) -> list[dict]:
    """The last job runs as plain dicts, for `stats`: a run whose process was killed reads
    `abandoned`, with an error naming the process ("host:pid", also under `owner`)."""
    return [{"job": run.job, "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status,
             "counts": {k: v for k, v in run.counts.items() if k in SUMMARY and v}, "error": run.error,
             "owner": run.owner}
            for run in store.last_runs(limit)]


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return len(text) == 10
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    app.add_typer(harvest_app, name="harvest")
    app.command()(add)
    app.command()(update)
    app.command()(worker)
