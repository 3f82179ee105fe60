"""The data dir's secret (CSRF form tokens, signed links in mail): made once, never replaced silently.

Every process (web workers, CLI, worker) reads `DATA_DIR/secret_key`. The store records a
fingerprint of the secret the first time one is used. A process that then finds the file missing
(deleted, or a second data dir on a shared PostgreSQL) refuses to start rather than make a new
secret: that would break every link already mailed, and the servers still running on the old
secret would reject the new one's forms and links. An empty, unreadable or short file is refused
too: an empty key makes every CSRF token computable by anyone.

Rotation stays deliberate: a secret whose value is listed in `previous_secret_keys` may be
replaced (delete the file; the next process makes a new one), and `paperradar secret reset`
starts over explicitly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from pathlib import Path
from typing import Protocol, Sequence

from .errors import UserError

FILE = "secret_key"
META_KEY = "secret_key_sha256"  # the fingerprint of the secret this store's links were signed with
MIN_CHARS = 32
RESET_HINT = ("restore it from a backup, or run `paperradar secret reset` to start over with a new one "
              "(links in mail already sent stop working)")
START_OVER = "run `paperradar secret reset` to start over with a new one (links in mail already sent stop working)"


class MetaStore(Protocol):
    def get_meta(self, key: str, default: str | None = None) -> str | None: ...

    def put_meta(self, key: str, value: str) -> None: ...


class SecretKeyError(UserError):
    """The secret file cannot be used; the message names the file and what to do."""


def fingerprint(secret: str) -> str:
    """A short, one-way name for a secret, safe to print and to store."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def load(data_dir: Path, store: MetaStore, previous: Sequence[str] = ()) -> str:
    """The secret in `data_dir`, made on first use; SecretKeyError when it must not be used."""
    path = data_dir / FILE
    recorded = store.get_meta(META_KEY)
    replaceable = recorded is None or recorded in {fingerprint(s) for s in previous if s}
    secret = _read(path)
    if secret is None:
        if not replaceable:
            raise SecretKeyError(f"{path} is missing, but this database's links and forms were signed with a "
                                 f"secret (fingerprint {recorded}): {RESET_HINT}")
        secret = _create(path)
    current = fingerprint(secret)
    if current != recorded:
        if not replaceable:
            raise SecretKeyError(f"{path} is not the secret this database's links were signed with (fingerprint "
                                 f"{current}, expected {recorded}): restore the original from a backup, or {START_OVER}")
        store.put_meta(META_KEY, current)
    return secret


def reset(data_dir: Path, store: MetaStore) -> tuple[str, Path | None]:
    """Replace the secret with a new one and record it: (new fingerprint, where the old one was
    kept, if there was one to keep)."""
    path = data_dir / FILE
    kept = None
    try:
        old = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        old = ""
    if old:  # kept for PAPERRADAR_PREVIOUS_SECRET_KEYS, so old links can be honoured
        kept = path.with_name(f"{FILE}.old-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}")
        os.replace(path, kept)
    tmp = _write_temp(path, secrets.token_urlsafe(48))
    os.replace(tmp, path)
    secret = path.read_text().strip()
    store.put_meta(META_KEY, fingerprint(secret))
    return fingerprint(secret), kept


def _read(path: Path) -> str | None:
    """The file's secret; None when there is no file; SecretKeyError when it is unusable."""
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not text"
        raise SecretKeyError(f"{path} cannot be read ({reason}): fix its permissions, restore it from a backup, "
                             f"or {START_OVER}") from None
    if not secret:
        raise SecretKeyError(f"{path} is empty, so anyone could forge its links and forms: {RESET_HINT}")
    if len(secret) < MIN_CHARS:
        raise SecretKeyError(f"{path} holds {len(secret)} characters, too few to keep links and forms "
                             f"unforgeable (at least {MIN_CHARS}): {RESET_HINT}")
    return secret


def _create(path: Path) -> str:
    """Write a new secret unless another process got there first; the secret in the file."""
    tmp = _write_temp(path, secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # appears complete or not at all: a concurrent reader never sees it empty
    except FileExistsError:
        pass  # another process won the race; use its secret
    finally:
        tmp.unlink()
    secret = _read(path)
    if secret is None:
        raise SecretKeyError(f"{path} disappeared while it was being made: {RESET_HINT}")
    return secret


def _write_temp(path: Path, secret: str) -> Path:
    tmp = path.with_name(f".{FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
        f.flush()
        os.fsync(f.fileno())
    return tmp
