"""The community from the command line: `daily`, `trending`, `submit`, `vote` and `users`."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from ..community import daily as lists, periods
from ..community.submit import submit as submit_paper
from ..digest.interests import normalize_email
from ..errors import UserError
from ..store import Account, now as utcnow
from ..views import listed_json
from .common import out, print_json, radar

users_app = typer.Typer(help="Manage member accounts (sign-in is by emailed link; no passwords).",
                        no_args_is_help=True)


def _print_view(view, as_json: bool, title: str) -> None:
    if as_json:
        print_json([listed_json(e) for e in view.entries])
        return
    if not view.entries:
        out.print(f"no papers listed for {title}")
        return
    table = Table("#", "votes", "id", "title", "listed", box=None, header_style="bold", title=title)
    first = (view.page - 1) * len(view.entries)
    for i, e in enumerate(view.entries, first + 1):
        table.add_row(str(i), str(e.listing.points), e.paper.id, e.paper.title, e.listing.day.isoformat())
    out.print(table)
    out.print(f"[dim]{len(view.entries)} of {view.total} papers ({view.sort})[/]")


def daily(
    ctx: typer.Context,
    date: Optional[str] = typer.Option(None, "--date", help="A day, YYYY-MM-DD (default: the latest day with papers)."),
    week: Optional[str] = typer.Option(None, "--week", help="An ISO week, YYYY-Www (2025-W07)."),
    month: Optional[str] = typer.Option(None, "--month", help="A month, YYYY-MM."),
    sort: str = typer.Option("votes", "--sort", help="votes (default), trending or new."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=1000, help="How many papers."),
    as_json: bool = typer.Option(False, "--json", help="Print Hugging Face daily_papers-shaped JSON items."),
) -> None:
    """The papers listed on a day, in a week or in a month."""
    chosen = [(k, v) for k, v in (("date", date), ("week", week), ("month", month)) if v]
    if len(chosen) > 1:
        raise UserError("give one of --date, --week or --month")
    lists.check_sort(sort)
    with radar(ctx) as r:
        now = utcnow()
        period = periods.parse(*chosen[0]) if chosen else lists.latest_period(r.store, now.date())
        view = lists.view(r.store, period, sort=sort, now=now, size=limit,
                          ranking=lists.Ranking.from_settings(r.settings))
    _print_view(view, as_json, period.label)


def trending(
    ctx: typer.Context,
    window: str = typer.Option("week", "--window", "-w", help="day, week (default) or month."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000, help="How many papers."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON items with their trendingScore."),
) -> None:
    """What is trending: votes with time decay (docs/trending.md)."""
    with radar(ctx) as r:
        now = utcnow()
        period = lists.window(r.store, window, now)
        view = lists.view(r.store, period, sort="trending", now=now, size=limit,
                          ranking=lists.Ranking.from_settings(r.settings))
    _print_view(view, as_json, f"trending this {window}")


def _member(r, email: str) -> Account:
    account = r.store.get_account_by_email(normalize_email(email))
    if account is None:
        raise UserError(f"no account for {email}; add it with `paperradar users add {email}`")
    if account.status != "active":
        raise UserError(f"{email} is banned")
    return account


def submit(
    ctx: typer.Context,
    paper: str = typer.Argument(..., help="An arXiv id or abs/pdf URL."),
    as_email: str = typer.Option(..., "--as", help="The member it is submitted for (their email)."),
) -> None:
    """Put a paper on today's list for a member (fetched from arXiv if new)."""
    with radar(ctx) as r:
        p = submit_paper(r.store, r.settings, _member(r, as_email), paper, now=utcnow())
        r.sync_indexes()
    out.print(f"listed {p.id}: {p.title}", highlight=False)


def vote(
    ctx: typer.Context,
    paper: str = typer.Argument(..., help="paperradar id or arXiv id."),
    as_email: str = typer.Option(..., "--as", help="The member who votes (their email)."),
    undo: bool = typer.Option(False, "--undo", help="Take the vote back."),
) -> None:
    """Vote for a listed paper as a member (idempotent)."""
    with radar(ctx) as r:
        account = _member(r, as_email)
        p = r.store.get_paper(paper.strip())
        listing = r.store.get_listing(p.id) if p else None
        if listing is None or listing.hidden:
            raise UserError(f"no listed paper with id {paper!r}")
        r.store.set_vote(account.id, p.id, not undo)
        listing = r.store.get_listing(p.id)
    out.print(f"{p.id}: {listing.points} votes", highlight=False)


def _account_json(a: Account) -> dict:
    return {"id": a.id, "email": a.email, "handle": a.handle, "role": a.role, "status": a.status,
            "created_at": a.created_at, "last_login_at": a.last_login_at}


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The member's address (they sign in by emailed link)."),
    admin: bool = typer.Option(False, "--admin", help="Make them an admin."),
    as_json: bool = typer.Option(False, "--json", help="Print the account as JSON."),
) -> None:
    """Add (invite) a member; with `signup=invite` only added addresses can sign in."""
    with radar(ctx) as r:
        account, created = r.store.ensure_account(normalize_email(email), role="admin" if admin else "member")
        if admin and not account.is_admin:
            r.store.update_account(account.id, role="admin")
        account = r.store.get_account(account.id)
    _done(account, f"{'added' if created else 'already a member:'} {account.email}", as_json, created=created)


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """Every account with its handle, role and status."""
    with radar(ctx) as r:
        accounts = r.store.list_accounts()
    if as_json:
        print_json([_account_json(a) for a in accounts])
        return
    table = Table("id", "email", "handle", "role", "status", "last sign-in", box=None, header_style="bold")
    for a in accounts:
        table.add_row(str(a.id), a.email, a.handle or "-", a.role, a.status,
                      a.last_login_at.isoformat(sep=" ") if a.last_login_at else "never")
    out.print(table)


@users_app.command("admin")
def users_admin(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The member's address."),
    revoke: bool = typer.Option(False, "--revoke", help="Make them a plain member again."),
    as_json: bool = typer.Option(False, "--json", help="Print the account as JSON."),
) -> None:
    """Make a member an admin (they can hide listings)."""
    with radar(ctx) as r:
        account = _member(r, email)
        r.store.update_account(account.id, role="member" if revoke else "admin")
        account = r.store.get_account(account.id)
    _done(account, f"{account.email} is {'a member' if revoke else 'an admin'}", as_json)


@users_app.command("ban")
def users_ban(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The member's address."),
    keep_votes: bool = typer.Option(False, "--keep-votes", help="Keep their votes (by default they are removed)."),
    unban: bool = typer.Option(False, "--unban", help="Lift the ban."),
    as_json: bool = typer.Option(False, "--json", help="Print the account as JSON."),
) -> None:
    """Ban a member: signed out everywhere, no sign-in, and their votes removed (vote spam)."""
    with radar(ctx) as r:
        account = _account(r, email)
        r.store.update_account(account.id, status="active" if unban else "banned")
        removed = 0 if (unban or keep_votes) else r.store.remove_votes(account.id)
        account = r.store.get_account(account.id)
    _done(account, f"{account.email} {'unbanned' if unban else 'banned'}" + (f", {removed} votes removed" if removed else ""),
          as_json, votes_removed=removed)


@users_app.command("remove")
def users_remove(ctx: typer.Context, email: str = typer.Argument(..., help="The member's address."),
    as_json: bool = typer.Option(False, "--json", help="Print the account as JSON."),
) -> None:
    """Forget a member and their votes; papers they submitted stay listed."""
    with radar(ctx) as r:
        account = _account(r, email)
        removed = r.store.remove_account(account.id)
    _done(account, f"removed {account.email} and {removed} votes", as_json, removed=True, votes_removed=removed)


def _account(r, email: str) -> Account:
    account = r.store.get_account_by_email(normalize_email(email))
    if account is None:
        raise UserError(f"no account for {email}")
    return account


def _done(account: Account, line: str, as_json: bool, **extra) -> None:
    if as_json:
        print_json({**_account_json(account), **extra})
    else:
        out.print(line, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(daily)
    app.command()(trending)
    app.command()(submit)
    app.command()(vote)
    app.add_typer(users_app, name="users")
