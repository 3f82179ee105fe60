"""`paperradar ingest FORMAT FILE...`: load papers from files. Other formats add commands to `ingest_app`."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer
from rich.table import Table

from ..ingest import IngestReport, ingest
from ..sources.errors import SourceError
from ..sources.pages import read_page
from .common import err, out, print_json, progress_bar, radar, sync_indexes

ingest_app = typer.Typer(help="Load papers from files.", no_args_is_help=True)


def print_report(report: IngestReport, failed: list[str], as_json: bool) -> None:
    if as_json:
        print_json({**report.as_dict(), "failed_files": failed})
        return
    table = Table(show_header=False, box=None)
    table.add_row("added", f"[green]{report.added}")
    table.add_row("updated", str(report.updated))
    table.add_row("unchanged", str(report.unchanged))
    table.add_row("skipped", str(len(report.skipped)))
    out.print(table)
    for reason in report.skipped:
        err.print(f"[yellow]skipped[/] {reason}", highlight=False)
    for line in failed:
        err.print(f"[red]failed[/] {line}", highlight=False)


@ingest_app.command("pages")
def pages(
    ctx: typer.Context,
    files: List[Path] = typer.Argument(..., help="Listing-page text files (titles and abstracts)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Ingest listing pages. Re-ingesting the same pages adds nothing."""
    report, failed = IngestReport(), []
    with radar(ctx) as r:
        with progress_bar("pages", len(files)) as advance:
            for path in files:
                try:
                    page = read_page(path)
                except SourceError as e:
                    failed.append(str(e))
                else:
                    report.skipped.extend(page.warnings)
                    ingest(r.store, page.papers, report=report)
                advance(1)
        sync_indexes(r)
    print_report(report, failed, as_json)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
