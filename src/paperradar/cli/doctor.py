"""`paperradar doctor`: check a deployment and say what to fix, one line per check.

Each check is ok, warn (works, but something should be done) or fail (something a user would
notice is broken); the command exits 1 when any check fails, so it can gate a deploy script or
a monitoring probe. It only reads: it does not upgrade the schema, make a secret or catch up
an index (the commands that do are named in the lines that need them).
"""

from __future__ import annotations

import shutil
import smtplib
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import typer

from .. import secret_key
from ..config import Settings
from ..errors import UserError
from ..store import Store
from .common import out, print_json, settings, unexpected_line

SMTP_TIMEOUT_S = 5.0
DISK_WARN_BYTES = 2 * 1024**3  # an import or a reindex writes a few GB at a million papers
DISK_FAIL_BYTES = 200 * 1024**2
STYLE = {"ok": "green", "warn": "yellow", "fail": "red"}


@dataclass
class Check:
    check: str
    status: str  # ok, warn or fail
    message: str


class Skip(Exception):
    """A check that cannot run because an earlier one found its ground missing."""


def doctor(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Check this deployment (database, schema, pgvector, secret, indexes, model, mail, disk)
    and say what to fix; exit status 1 when any check fails."""
    checks = run_checks(settings(ctx))
    if as_json:
        print_json([asdict(c) for c in checks])
    else:
        for c in checks:
            out.print(f"[{STYLE[c.status]}]{c.status:<4}[/] {c.check:<10} {c.message}", highlight=False, soft_wrap=True)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)


def run_checks(s: Settings) -> list[Check]:
    checks: list[Check] = []

    def check(name: str, fn: Callable[[], tuple[str, str]]) -> None:
        try:
            status, message = fn()
        except Skip as e:
            status, message = "warn", f"not checked: {e}"
        except UserError as e:
            status, message = "fail", " ".join(str(e).split())
        except Exception as e:  # noqa: BLE001 (a check must report, never crash the others)
            status, message = "fail", unexpected_line(e)
        checks.append(Check(name, status, message))

    check("data dir", lambda: _data_dir(s))
    check("disk", lambda: _disk(s))
    store = None
    try:
        store = Store(s.db_url, migrate_schema=False)
        check("database", lambda: _database(store))
        blocked = {"ok": None, "warn": "there is no database yet"}.get(checks[-1].status, "the database is not reachable")
        check("schema", lambda: _schema(store, blocked))
        blocked = blocked or (None if checks[-1].status == "ok" else "the schema is not current")
        if store.is_postgresql:
            check("pgvector", lambda: _pgvector(store, s, blocked))
        check("secret", lambda: _secret(store, blocked))
        check("indexes", lambda: _indexes(s, blocked))
    finally:
        if store is not None:
            store.close()
    check("model", lambda: _model(s))
    check("mail", lambda: _mail(s))
    return checks


def _data_dir(s: Settings) -> tuple[str, str]:
    folder = s.data_dir.resolve()
    try:
        s.ensure_data_dir()
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as e:
        return "fail", f"{folder} is not writable ({e.strerror or e}): indexes and caches live there; fix its owner or permissions"
    return "ok", f"{folder} is writable"


def _disk(s: Settings) -> tuple[str, str]:
    free = shutil.disk_usage(s.data_dir if s.data_dir.exists() else Path.cwd()).free
    said = f"{free / 1024**3:.1f} GiB free for {s.data_dir.resolve()}"
    if free < DISK_FAIL_BYTES:
        return "fail", f"{said}: writes will fail soon; free some space"
    if free < DISK_WARN_BYTES:
        return "warn", f"{said}: an import or reindex needs a few GB; free some space"
    return "ok", said


def _database(store: Store) -> tuple[str, str]:
    url = store.engine.url
    if store.is_postgresql:
        where = url.render_as_string(hide_password=True)
        try:
            with store.engine.connect():
                version = ".".join(map(str, store.engine.dialect.server_version_info or ()))
        except Exception as e:  # noqa: BLE001
            return "fail", f"cannot connect to {where}: {unexpected_line(e)}; check PAPERRADAR_DATABASE_URL and that the server runs"
        return "ok", f"PostgreSQL {version} at {where}"
    path = Path(url.database or "")
    if not path.exists():
        return "warn", f"no SQLite database at {path} yet: the first command (or `serve`) creates it"
    with store.engine.connect():
        version = ".".join(map(str, store.engine.dialect.dbapi.sqlite_version_info))
    return "ok", f"SQLite {version}, {path} ({path.stat().st_size / 1024**2:.1f} MiB)"


def _schema(store: Store, blocked: str | None) -> tuple[str, str]:
    if blocked:
        raise Skip(blocked)
    from ..store.db import schema

    found = schema(store.engine)
    current, heads, known = found.current, found.heads, found.known
    if found.up_to_date:
        return "ok", f"up to date (revision {', '.join(sorted(heads))})"
    if not current:
        return "warn", "the database is empty: `paperradar migrate` (or any command, or `serve`) creates the schema"
    if not current <= known:
        return "fail", (f"the database is at revision {', '.join(sorted(current))}, which this paperradar does not "
                        "know: a newer version migrated it; upgrade paperradar on this machine")
    return "warn", (f"the database is at revision {', '.join(sorted(current))}, this paperradar needs "
                    f"{', '.join(sorted(heads))}: stop the servers, run `paperradar migrate`, then start them again")


def _pgvector(store: Store, s: Settings, blocked: str | None) -> tuple[str, str]:
    if blocked:
        raise Skip(blocked)
    try:
        n = store.count_searchable_vectors(s.embedding_name)
    except Exception as e:  # noqa: BLE001
        return "fail", (f"vector search in the database does not work ({unexpected_line(e)}): as a superuser run "
                        "`CREATE EXTENSION IF NOT EXISTS vector;` in this database")
    return "ok", f"the vector extension answers: {n:,} {s.embedding_name} vectors searchable"


def _secret(store: Store, blocked: str | None) -> tuple[str, str]:
    if blocked:
        raise Skip(blocked)
    secret = store.get_meta(secret_key.SECRET_KEY)
    recorded = store.get_meta(secret_key.META_KEY)
    if secret is None:
        if recorded is None:
            return "warn", "no secret yet: the first web process or command makes one in the database"
        return "fail", f"the secret is missing from {secret_key.WHERE} but links were signed with one: {secret_key.RESET_HINT}"
    if len(secret.strip()) < secret_key.MIN_CHARS:
        return "fail", f"the secret in {secret_key.WHERE} is too short: {secret_key.RESET_HINT}"
    mine = secret_key.fingerprint(secret)
    if recorded is not None and recorded != mine:
        return "fail", (f"the secret in {secret_key.WHERE} (fingerprint {mine}) is not the one links were signed with "
                        f"({recorded}): {secret_key.RESET_HINT}")
    return "ok", f"in the database, shared by every process (fingerprint {mine})"


def _indexes(s: Settings, blocked: str | None) -> tuple[str, str]:
    if blocked:
        raise Skip(blocked)
    from ..radar import Radar

    r = Radar(s)
    try:
        pending = r.indexer.pending()
        damage, off = r.index_damage, r.vector_problem
    finally:
        r.close()
    if off:
        return "fail", f"search by meaning is off: {off}"
    if damage:
        found = "; ".join(f"{name}: {problem}" for name, problem in damage.items())
        return "warn", f"damage found and emptied ({found}): the next sync rebuilds it from the store"
    behind = {name: n for name, n in pending.items() if n}
    if behind:
        said = ", ".join(f"{'keyword' if name == 'lexical' else name} index {n:,} changes behind" for name, n in behind.items())
        return "warn", (f"{said} in {s.data_dir.resolve() / 'index'}: running servers catch up by themselves within "
                        "seconds; with none running, the next `paperradar serve` catches up as it starts")
    return "ok", f"keyword and vector indexes up to date with the store ({s.embedding_name})"


def _model(s: Settings) -> tuple[str, str]:
    from ..embed.weights import installed

    files, digest = installed(s.embed_model, s.model_cache)
    return "ok", f"{s.embed_model} installed, weights verified (sha256 {digest[:12]}…) in {files.folder}"


def _mail(s: Settings) -> tuple[str, str]:
    if not s.smtp_url:
        folder = s.data_dir.resolve() / "outbox"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        except OSError as e:
            return "fail", f"the outbox folder {folder} is not writable ({e.strerror or e}); fix its permissions"
        return "ok", f"no SMTP server set: digests are written to {folder} (writable) as .eml files"
    from ..digest.transport import SMTPTransport, TempFailure

    transport = SMTPTransport(s.smtp_url, timeout=min(SMTP_TIMEOUT_S, s.smtp_timeout))
    where = f"{transport.host}:{transport.port}"
    try:
        conn = transport._open()  # connect, EHLO, STARTTLS when offered, login when configured
    except TempFailure as e:
        return "fail", f"cannot reach the SMTP server {where}: {str(e).split(': ', 1)[-1]}; check PAPERRADAR_SMTP_URL"
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        pass
    return "ok", f"SMTP server {where} answers" + (" and accepts the login" if transport.user else "")


def register(app: typer.Typer) -> None:
    app.command()(doctor)
