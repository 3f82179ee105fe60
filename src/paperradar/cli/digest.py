"""`paperradar digest run|preview`: plan and send the day's digests, or look at one first.

Exit status: 0 done (deferred mail waits for its retry), 1 the run stopped early (mail server
or database not usable) or bad input, 2 the mail settings cannot work (nothing was claimed).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..digest.dkim import DkimError, DkimSigner
from ..digest.run import DigestReport, DigestService
from ..digest.transport import ConfigError, transport_from_settings
from ..errors import UserError
from ..store import Store
from .common import err, fail, out, progress_bar, settings

app = typer.Typer(help="Daily digest emails.", no_args_is_help=True)


def bad_config(message: str) -> None:
    """A setting that cannot work: one line on stderr and exit status 2."""
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def check_mail_settings(settings) -> None:
    """Exit 2 with one line when the mail settings cannot work (SMTP URL, DKIM key); called
    before the store is opened, so nothing is planned or claimed. Connects to nothing."""
    try:
        transport_from_settings(settings).close()
        DkimSigner.from_settings(settings)
    except (ConfigError, DkimError) as e:
        bad_config(str(e))


def _date(value: Optional[str]) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--date must be YYYY-MM-DD, got {value!r}") from None


@app.command()
def run(
    ctx: typer.Context,
    date: Optional[str] = typer.Option(None, "--date", help="Digest date YYYY-MM-DD (default: today, UTC)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show who would get how many papers; record and send nothing."),
    only: Optional[str] = typer.Option(None, "--only", help="Only this subscriber's digest."),
) -> None:
    """Plan today's digests and send every one that is due (safe to rerun: nothing goes twice)."""
    s = settings(ctx)
    check_mail_settings(s)
    store = Store.from_settings(s)
    try:
        service = DigestService(s, store)
        digest_date = _date(date) or service.clock().date()
        only_email = only.strip().lower() if only else None
        if dry_run:
            report = service.run(digest_date, dry_run=True, only_email=only_email)
        else:
            with progress_bar("selecting", None) as advance:
                seen = [0]

                def on_plan(done: int, total: int) -> None:
                    advance(done - seen[0])
                    seen[0] = done

                plan = service.plan(digest_date, only_email=only_email, progress=on_plan)
            due = sum(store.outbox_counts().get(k, 0) for k in ("pending", "temp_failed", "sending"))
            with progress_bar("sending", due) as advance:
                summary = service.send(digest_date, only_email=only_email, progress=lambda item, outcome: advance())
            report = DigestReport(digest_date, plan, summary, store.outbox_counts(digest_date),
                                  store.outbox_next_retry(digest_date))
    finally:
        store.close()
    _print(report, dry_run)


def _print(report: DigestReport, dry_run: bool) -> None:
    if dry_run:
        table = Table("email", "papers", box=None, header_style="bold")
        for email, n in report.would_send:
            table.add_row(email, str(n))
        out.print(table)
        out.print(f"dry run for {report.digest_date}: {report.plan.planned} would be sent, "
                  f"{report.plan.empty} empty; nothing recorded or sent", highlight=False)
        return
    p, snd = report.plan, report.send
    out.print(f"digest {report.digest_date}: planned {p.planned}, empty {p.empty}"
              + (f", not due {p.not_due}" if p.not_due else ""), highlight=False)
    out.print(f"sent {snd.sent}, retry later {snd.retry_later}, failed {snd.failed}"
              + (f", suppressed {snd.suppressed}" if snd.suppressed else "")
              + (f", cancelled {snd.cancelled}" if snd.cancelled else "")
              + (f", resumed after interruption {snd.resumed}" if snd.resumed else ""), highlight=False)
    out.print("outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(report.states.items())) or "empty"), highlight=False)
    if report.next_retry:
        out.print(f"next retry at {report.next_retry:%Y-%m-%d %H:%M:%S} UTC", highlight=False)
    for line in snd.errors[:20]:
        err.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)
    if len(snd.errors) > 20:
        err.print(f"[yellow]warning:[/] … and {len(snd.errors) - 20} more", highlight=False)
    if snd.stopped:
        fail(f"stopped early, {snd.stopped}")


@app.command()
def preview(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The subscriber whose next digest to show."),
    output: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write the HTML."),
) -> None:
    """Write the HTML of a subscriber's next digest to a file and print its path (records nothing)."""
    s = settings(ctx)
    store = Store.from_settings(s)
    try:
        try:
            path = DigestService(s, store).preview(email.strip().lower(), output)
        except LookupError as e:
            raise UserError(str(e)) from None
    finally:
        store.close()
    out.print(str(path.resolve()), highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="digest")
