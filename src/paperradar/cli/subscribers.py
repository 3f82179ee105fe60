"""`paperradar subscribers add|list|remove`: the admin's side of the digest list."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.table import Table

from ..digest.interests import Interests, normalize_email, parse_content
from ..digest.transport import DeliveryFailure
from ..errors import UserError
from ..store import Store
from ..store.subscribers import STATUSES
from .common import out, print_json, settings

app = typer.Typer(help="Manage digest subscribers.", no_args_is_help=True)
CONTENT_HELP = "What the digest holds: interests (papers matching them), trending (the lists' trending papers) or both."


@app.command("set")
def set_content(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The subscriber's address."),
    content: str = typer.Option(..., "--content", help=CONTENT_HELP),
) -> None:
    """Change what a subscriber's digest holds."""
    store = Store.from_settings(settings(ctx))
    try:
        sub = store.get_subscriber_by_email(normalize_email(email))
        if sub is None:
            raise UserError(f"{email} is not subscribed")
        if parse_content(content) != "trending" and not (sub.topics or sub.categories or sub.authors):
            raise UserError(f"{sub.email} has no interests to match; use --content trending")
        store.update_subscriber(sub.id, content=content)
    finally:
        store.close()
    out.print(f"{sub.email}: the digest holds {content}", highlight=False)


@app.command()
def add(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The subscriber's address."),
    topic: List[str] = typer.Option([], "--topic", "-t", help="A topic in plain words; repeat for more."),
    category: List[str] = typer.Option([], "--category", "-c", help="An arXiv category (cs.LG); repeat for more."),
    author: List[str] = typer.Option([], "--author", "-a", help="An author's name; repeat for more."),
    confirmed: bool = typer.Option(False, "--confirmed", help="Active at once; otherwise a confirmation email is sent."),
    weekly: bool = typer.Option(False, "--weekly", help="One digest a week instead of one a day."),
    send_empty: bool = typer.Option(False, "--send-empty", help="Send a digest even when nothing matched."),
    content: str = typer.Option("interests", "--content", help=CONTENT_HELP),
) -> None:
    """Add a subscriber (double opt-in unless --confirmed)."""
    s = settings(ctx)
    address = normalize_email(email)
    interests = Interests.parse(topic, category, author, required=parse_content(content) != "trending")
    store = Store.from_settings(s)
    try:
        sub = store.add_subscriber(address, status="active" if confirmed else "pending",
                                   frequency="weekly" if weekly else "daily", send_empty=send_empty,
                                   topics=interests.topics, categories=interests.categories,
                                   authors=interests.authors, content=content)
        if confirmed:
            out.print(f"added {sub.email} (active)", highlight=False)
            return
        from ..digest.run import DigestService

        service = DigestService(s, store)
        try:
            service.send_notice(service.notices.confirmation(sub))
        except DeliveryFailure as e:
            raise UserError(f"added {sub.email} (pending), but the confirmation email could not be sent: {e}") from None
        out.print(f"added {sub.email} (pending: confirmation email sent)", highlight=False)
    finally:
        store.close()


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Optional[str] = typer.Option(None, help=f"Only this status: {', '.join(STATUSES)}."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List subscribers."""
    if status is not None and status not in STATUSES:  # a typo must not read as "no subscribers"
        raise UserError(f"--status must be one of {', '.join(STATUSES)}, not {status!r}")
    store = Store.from_settings(settings(ctx))
    try:
        subs = store.list_subscribers(status)
    finally:
        store.close()
    if as_json:
        print_json([{
            "id": x.id, "email": x.email, "status": x.status, "frequency": x.frequency,
            "topics": x.topics, "categories": x.categories, "authors": x.authors,
            "send_empty": x.send_empty, "created_at": x.created_at, "confirmed_at": x.confirmed_at,
            "last_digest_at": x.last_digest_at, "permanent_failures": x.permanent_failures,
        } for x in subs])
        return
    if not subs:
        out.print("no subscribers")
        return
    table = Table("email", "status", "frequency", "interests", "last digest", box=None, header_style="bold")
    for x in subs:
        interests = "; ".join(x.topics + x.categories + x.authors)
        table.add_row(x.email, x.status, x.frequency, interests, str(x.last_digest_at or "never"))
    out.print(table)


@app.command()
def remove(ctx: typer.Context, email: str = typer.Argument(..., help="The address to forget.")) -> None:
    """Remove a subscriber and everything recorded about them."""
    store = Store.from_settings(settings(ctx))
    try:
        if not store.remove_subscriber(email.strip().lower()):
            raise UserError(f"no subscriber {email.strip()}")
    finally:
        store.close()
    out.print(f"removed {email.strip().lower()}", highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="subscribers")
