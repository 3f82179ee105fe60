"""The secret behind CSRF form tokens and signed links in mail: kept in the store, made once,
never replaced silently.

Every process (web workers, CLI, worker), whatever its data dir, reads the one secret the store
holds (`meta` row `secret_key`), so a form from one web process posts to another and a link the
worker mailed opens on any of them. The first process to need it makes it: an insert that does
nothing when another process's insert won, then a read of whatever won (`put_meta_if_absent`).

Installs from before kept the secret in `DATA_DIR/secret_key`: when the store has none, that
file's secret is adopted into the store, so links already mailed keep working. After that the
file is not read for signing; a data dir whose file holds another secret (a second data dir
that made its own) gets a warning naming it, and PREVIOUS_SECRET_KEYS honours its old links.

Hardening, as before: the store also records a fingerprint of the secret in use. A secret that
then goes missing (the row deleted, a partial restore) is refused rather than remade, unless
its fingerprint is among `previous_secret_keys`: a new one would break every link already
mailed. Putting the old value back (restoring the `secret_key` file) is adopted again. An
empty, unreadable or short secret is refused: an empty key makes every CSRF token computable.
`paperradar secret reset` starts over explicitly, keeping the old value in a file to list in
PREVIOUS_SECRET_KEYS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import Protocol, Sequence

from .errors import UserError

FILE = "secret_key"  # the data dir file of installs before the store held the secret
SECRET_KEY = "secret_key"  # the store's `meta` row holding the secret
META_KEY = "secret_key_sha256"  # the fingerprint of the secret this store's links were signed with
MIN_CHARS = 32
WHERE = "the database (meta row secret_key)"
RESET_HINT = ("restore it from a backup (the database, or the secret_key file of the data dir), or run "
              "`paperradar secret reset` to start over with a new one (links in mail already sent stop working)")
START_OVER = "run `paperradar secret reset` to start over with a new one (links in mail already sent stop working)"
log = logging.getLogger("paperradar.secret")


class MetaStore(Protocol):
    def get_meta(self, key: str, default: str | None = None) -> str | None: ...

    def put_meta(self, key: str, value: str) -> None: ...

    def put_meta_if_absent(self, key: str, value: str) -> str: ...


class SecretKeyError(UserError):
    """The secret cannot be used; the message says where it is and what to do."""


def fingerprint(secret: str) -> str:
    """A short, one-way name for a secret, safe to print and to store."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def load(data_dir: Path, store: MetaStore, previous: Sequence[str] = ()) -> str:
    """The store's secret, made (or adopted from the data dir's file) on first use;
    SecretKeyError when it must not be used."""
    recorded = store.get_meta(META_KEY)
    replaceable = recorded is None or recorded in {fingerprint(s) for s in previous if s}
    secret = store.get_meta(SECRET_KEY)
    path = data_dir / FILE
    if secret is None:
        found = _read(path)  # an install from before, or a restored backup of the file
        if found is None:
            if not replaceable:
                raise SecretKeyError(f"the secret is missing from {WHERE}, but this database's links and forms "
                                     f"were signed with one (fingerprint {recorded}): {RESET_HINT}")
            found = secrets.token_urlsafe(48)
        elif fingerprint(found) != recorded and not replaceable:
            raise SecretKeyError(f"{path} is not the secret this database's links were signed with (fingerprint "
                                 f"{fingerprint(found)}, expected {recorded}): restore the original from a backup, "
                                 f"or {START_OVER}")
        secret = store.put_meta_if_absent(SECRET_KEY, found)  # another process may have won: use its secret
    _check(secret, WHERE)
    current = fingerprint(secret)
    if current != recorded:
        if not replaceable:
            raise SecretKeyError(f"the secret in {WHERE} is not the one this database's links were signed with "
                                 f"(fingerprint {current}, expected {recorded}): restore the original from a backup, "
                                 f"or {START_OVER}")
        store.put_meta(META_KEY, current)
    _warn_if_other(path, secret)
    return secret


def reset(data_dir: Path, store: MetaStore) -> tuple[str, Path | None]:
    """Replace the secret with a new one and record it: (new fingerprint, the file the old one
    was kept in, if there was one to keep)."""
    old = store.get_meta(SECRET_KEY)
    path = data_dir / FILE
    kept = None
    if old is None:
        try:
            old = path.read_text().strip() or None
        except (OSError, UnicodeDecodeError):
            old = None
    if old:  # kept for PAPERRADAR_PREVIOUS_SECRET_KEYS, so old links can be honoured
        kept = path.with_name(f"{FILE}.old-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}")
        os.replace(_write_temp(path, old), kept)
    try:
        path.unlink()  # the store holds the secret now; a file left here would only mislead
    except OSError:
        pass
    secret = secrets.token_urlsafe(48)
    store.put_meta(SECRET_KEY, secret)
    store.put_meta(META_KEY, fingerprint(secret))
    return fingerprint(secret), kept


def _check(secret: str, where: str) -> None:
    if not secret.strip():
        raise SecretKeyError(f"the secret in {where} is empty, so anyone could forge its links and forms: {RESET_HINT}")
    if len(secret.strip()) < MIN_CHARS:
        raise SecretKeyError(f"the secret in {where} holds {len(secret.strip())} characters, too few to keep links "
                             f"and forms unforgeable (at least {MIN_CHARS}): {RESET_HINT}")


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


_warned: set[Path] = set()


def _warn_if_other(path: Path, secret: str) -> None:
    """A data dir file holding another secret is no longer used: say so once per process."""
    if path in _warned:
        return
    try:
        other = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return
    if other and other != secret:
        _warned.add(path)
        log.warning("%s holds another secret than the database's, which every process now uses: links signed "
                    "with it stop working unless its value is in PAPERRADAR_PREVIOUS_SECRET_KEYS; then delete the file",
                    path)


def _write_temp(path: Path, secret: str) -> Path:
    tmp = path.with_name(f".{FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
        f.flush()
        os.fsync(f.fileno())
    return tmp
