"""Web sessions: a random id in an HttpOnly cookie; the store keeps only its SHA-256, so a
copy of the database cannot be used to sign in."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, delete, insert, select

from .accounts import Account, _account
from .schema import accounts, sessions


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: Connection, account_id: int, *, now: dt.datetime, ttl: dt.timedelta) -> str:
    """A new session for the account; returns the cookie value."""
    token = secrets.token_urlsafe(32)
    conn.execute(delete(sessions).where(sessions.c.expires_at <= now))  # keeps the table small
    conn.execute(insert(sessions).values(id_hash=_hash(token), account_id=account_id, created_at=now,
                                         expires_at=now + ttl))
    return token


def account(conn: Connection, token: str, now: dt.datetime) -> Account | None:
    """The active account a session cookie belongs to, if the session is current."""
    q = (select(accounts).join(sessions, sessions.c.account_id == accounts.c.id)
         .where(sessions.c.id_hash == _hash(token), sessions.c.expires_at > now, accounts.c.status == "active"))
    row = conn.execute(q).first()
    return _account(row) if row else None


def end(conn: Connection, token: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.id_hash == _hash(token)))


def end_all(conn: Connection, account_id: int) -> None:
    conn.execute(delete(sessions).where(sessions.c.account_id == account_id))
