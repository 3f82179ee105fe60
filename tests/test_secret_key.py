"""The data dir's secret: made once, recorded by fingerprint in the store, never silently remade.

A deleted secret used to be remade by whichever process ran next (the running server and the CLI
then disagreed, and every link in earlier mail broke), and a zero-byte one was accepted (CSRF
tokens computable by anyone). Real data dirs, a real store, the real CLI and web app factory.
"""

from __future__ import annotations

import os
import threading

import pytest
from typer.testing import CliRunner

from fakes.digest_world import service, settings_for
from paperradar.cli import app
from paperradar.radar import Radar
from paperradar.secret_key import SecretKeyError, fingerprint
from paperradar.store import Store
from paperradar.tokens import BadToken, TokenSigner, signer_from_settings
from paperradar.web.app import create_app

runner = CliRunner()


@pytest.fixture
def settings(tmp_path):
    return settings_for(tmp_path / "data")


@pytest.fixture
def store(settings):
    s = Store.from_settings(settings)
    yield s
    s.close()


def cli(settings, *args, **kw):
    return runner.invoke(app, ["-d", str(settings.data_dir), *args], **kw)


def test_first_use_makes_a_private_secret_and_records_its_fingerprint(settings, store):
    secret = settings.secret_key(store)
    path = settings.data_dir / "secret_key"
    assert len(secret) >= 32 and path.read_text().strip() == secret
    assert path.stat().st_mode & 0o777 == 0o600
    assert store.get_meta("secret_key_sha256") == fingerprint(secret)
    assert settings.secret_key(store) == secret  # every later use reads the same one


def test_processes_starting_together_agree_on_one_secret(settings, store):
    barrier = threading.Barrier(8)
    found = []

    def first_use():
        barrier.wait()
        found.append(settings.secret_key(store))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 1 and len(found[0]) >= 32  # nobody read a half-written (empty) file


def test_a_deleted_secret_is_refused_everywhere_until_restored(settings, store):
    radar = Radar(settings)
    try:
        create_app(settings, radar)  # the server starts and signs with the secret
        path = settings.data_dir / "secret_key"
        backup = path.read_bytes()
        link = signer_from_settings(settings, store).sign("unsubscribe", {"s": 1})
        path.unlink()

        with pytest.raises(SecretKeyError, match="secret_key is missing.*restore it from a backup.*secret reset"):
            service(settings, store)  # what `digest run` builds: no mail with links nobody can verify
        with pytest.raises(SecretKeyError):
            create_app(settings, radar)
        r = cli(settings, "digest", "run")
        assert r.exit_code == 1 and "secret_key is missing" in r.output and "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1
        assert not path.exists()  # nothing was made behind the user's back

        path.write_bytes(backup)
        assert cli(settings, "secret", "check").stdout.strip().endswith(f"(fingerprint {fingerprint(backup.decode().strip())})")
        assert signer_from_settings(settings, store).verify("unsubscribe", link) == {"s": 1}
    finally:
        radar.close()


@pytest.mark.parametrize("content, says", [
    (b"", "is empty"),
    (b"\n  \n", "is empty"),
    (b"hunter2", "holds 7 characters, too few"),
    (b"\xff\xfe" * 40, "cannot be read"),
    (None, "cannot be read"),  # a directory where the file should be
])
def test_an_empty_short_or_unreadable_secret_is_refused(settings, store, content, says):
    path = settings.ensure_data_dir() / "secret_key"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    radar = Radar(settings)
    try:
        with pytest.raises(SecretKeyError, match=says):
            create_app(settings, radar)  # no server whose CSRF tokens anyone could compute
    finally:
        radar.close()
    r = cli(settings, "secret", "check")
    assert r.exit_code == 1 and says in r.output and "secret reset" in r.output
    assert store.get_meta("secret_key_sha256") is None


def test_a_different_secret_in_place_of_the_recorded_one_is_refused(settings, store):
    settings.secret_key(store)
    (settings.data_dir / "secret_key").write_text("x" * 64)
    with pytest.raises(SecretKeyError, match="is not the secret this database's links were signed with"):
        settings.secret_key(store)


def test_reset_starts_over_explicitly_and_keeps_the_old_secret(settings, store):
    old = settings.secret_key(store)
    old_link = TokenSigner([old]).sign("manage", {"s": 1})
    (settings.data_dir / "secret_key").unlink()

    asked = cli(settings, "secret", "reset", input="n\n")
    assert asked.exit_code == 1 and not (settings.data_dir / "secret_key").exists()

    (settings.data_dir / "secret_key").write_text(old)  # a readable secret is kept on reset
    r = cli(settings, "secret", "reset", "--yes")
    assert r.exit_code == 0, r.output
    new = settings.secret_key(store)
    assert new != old and f"fingerprint {fingerprint(new)}" in r.stdout
    assert store.get_meta("secret_key_sha256") == fingerprint(new)
    [kept] = settings.data_dir.glob("secret_key.old-*")
    assert kept.read_text().strip() == old and kept.name in r.stdout
    with pytest.raises(BadToken):
        signer_from_settings(settings, store).verify("manage", old_link)
    settings.previous_secret_keys = [old]  # what the reset's message suggests
    assert signer_from_settings(settings, store).verify("manage", old_link) == {"s": 1}


def test_rotation_by_the_documented_steps_is_allowed(settings, store):
    """docs/digest.md: put the old value in PREVIOUS_SECRET_KEYS, then delete the file."""
    old = settings.secret_key(store)
    old_link = signer_from_settings(settings, store).sign("unsubscribe", {"s": 1})
    os.remove(settings.data_dir / "secret_key")
    settings.previous_secret_keys = [old]
    new = settings.secret_key(store)
    assert new != old and store.get_meta("secret_key_sha256") == fingerprint(new)
    assert signer_from_settings(settings, store).verify("unsubscribe", old_link) == {"s": 1}
