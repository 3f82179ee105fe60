"""Accounts: members who sign in by emailed link. No passwords anywhere.

An account is created when an address first asks for a sign-in link (when the sign-up policy
admits it) or when an admin invites it; the handle is chosen at the first sign-in. Each link
is bound to `login_nonce`, which every sign-in replaces: a link works once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from ..errors import UserError
from .db import dialect_insert
from .schema import accounts, listings

ROLES = ("member", "admin")
STATUSES = ("active", "banned")


class HandleTaken(UserError):
    """Another member has this handle."""


@dataclass
class Account:
    id: int
    email: str
    handle: str | None
    role: str
    status: str
    login_nonce: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def name(self) -> str:
        return self.handle or self.email.split("@")[0]


def _account(row) -> Account:
    m = row._mapping
    return Account(id=m["id"], email=m["email"], handle=m["handle"], role=m["role"], status=m["status"],
                   login_nonce=m["login_nonce"], created_at=m["created_at"], last_login_at=m["last_login_at"])


def ensure(conn: Connection, email: str, *, now: dt.datetime, role: str = "member") -> tuple[Account, bool]:
    """The account of an address, created if missing; (account, created). Race-safe."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    stmt = dialect_insert(conn, accounts).values(
        email=email, role=role, status="active", login_nonce=secrets.token_urlsafe(16), created_at=now,
    ).on_conflict_do_nothing(index_elements=["email"]).returning(accounts.c.id)
    created = conn.execute(stmt).first() is not None
    return get_by_email(conn, email), created


def get(conn: Connection, account_id: int) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return _account(row) if row else None


def get_by_email(conn: Connection, email: str) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.email == email)).first()
    return _account(row) if row else None


def list_all(conn: Connection) -> list[Account]:
    return [_account(r) for r in conn.execute(select(accounts).order_by(accounts.c.id))]


def use_login(conn: Connection, account_id: int, nonce: str, now: dt.datetime) -> bool:
    """Spend a sign-in link: compare-and-set the nonce, so of two uses only one succeeds."""
    q = (update(accounts).where(accounts.c.id == account_id, accounts.c.login_nonce == nonce,
                                accounts.c.status == "active")
         .values(login_nonce=secrets.token_urlsafe(16), last_login_at=now))
    return conn.execute(q).rowcount == 1


def set_handle(conn: Connection, account_id: int, handle: str) -> None:
    """Raises IntegrityError when the handle is taken (uq on handle); the store maps it."""
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(handle=handle))


def set_fields(conn: Connection, account_id: int, **values) -> None:
    if "role" in values and values["role"] not in ROLES:
        raise ValueError(f"unknown role {values['role']!r}")
    if "status" in values and values["status"] not in STATUSES:
        raise ValueError(f"unknown status {values['status']!r}")
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


def remove(conn: Connection, account_id: int) -> None:
    """Forget a member's account; their votes and sessions are removed by the caller first
    (votes.remove_all recounts, sessions.end_all); papers they submitted stay listed, credited
    to nobody."""
    conn.execute(update(listings).where(listings.c.submitted_by == account_id).values(submitted_by=None))
    conn.execute(delete(accounts).where(accounts.c.id == account_id))
