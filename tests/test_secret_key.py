"""The secret: kept in the store, shared by every data dir, made once, never silently remade.

A deleted secret used to be remade by whichever process ran next (the running server and the CLI
then disagreed, and every link in earlier mail broke), and a zero-byte one was accepted (CSRF
tokens computable by anyone); two data dirs on one PostgreSQL had a secret each, so a form from
one web process was refused by the other. Real data dirs, a real store (SQLite and PostgreSQL),
the real CLI and web app factory.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner

from fakes.digest_world import service, settings_for
from paperradar.cli import app
from paperradar.radar import Radar
from paperradar.secret_key import SecretKeyError, fingerprint
from paperradar.store import Store
from paperradar.store.schema import meta
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


def drop_secret_row(store):
    """What a partial restore or a careless hand does: the secret's row is gone."""
    with store.engine.begin() as conn:
        conn.execute(delete(meta).where(meta.c.key == "secret_key"))


def test_first_use_makes_a_secret_in_the_store_and_records_its_fingerprint(settings, store):
    secret = settings.secret_key(store)
    assert len(secret) >= 32
    assert store.get_meta("secret_key") == secret
    assert store.get_meta("secret_key_sha256") == fingerprint(secret)
    assert not (settings.data_dir / "secret_key").exists()  # the data dir holds only caches
    assert settings.secret_key(store) == secret  # every later use reads the same one


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_processes_with_different_data_dirs_agree_on_one_secret(tmp_path, request, db):
    """Eight data dirs starting together on one database: one secret, and a link or form
    token one signs, another verifies."""
    if db == "sqlite":
        url = f"sqlite:///{tmp_path}/shared.db"
    else:
        server = request.getfixturevalue("postgres")
        name = f"t_{uuid.uuid4().hex[:16]}"
        server.psql(f"CREATE DATABASE {name};")
        url = server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)
    dirs = [settings_for(tmp_path / f"data{i}", database_url=url) for i in range(8)]
    stores = [Store(url) for _ in dirs]
    barrier = threading.Barrier(len(dirs))
    found: dict[int, str] = {}

    def first_use(i):
        barrier.wait()
        found[i] = dirs[i].secret_key(stores[i])

    threads = [threading.Thread(target=first_use, args=(i,)) for i in range(len(dirs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(found) == len(dirs) and len(set(found.values())) == 1
        link = signer_from_settings(dirs[0], stores[0]).sign("unsubscribe", {"s": 7})
        assert signer_from_settings(dirs[5], stores[5]).verify("unsubscribe", link) == {"s": 7}
    finally:
        for s in stores:
            s.close()


def test_an_existing_data_dir_secret_is_adopted_so_mailed_links_keep_working(settings, store):
    old = "o" * 20 + "ld-install-secret-value-" + "x" * 20
    path = settings.ensure_data_dir() / "secret_key"
    path.write_text(old + "\n")
    mailed = TokenSigner([old]).sign("unsubscribe", {"s": 3})
    assert settings.secret_key(store) == old
    assert store.get_meta("secret_key") == old and store.get_meta("secret_key_sha256") == fingerprint(old)
    assert signer_from_settings(settings, store).verify("unsubscribe", mailed) == {"s": 3}
    # A second data dir on the same store, with a secret file of its own, uses the store's.
    other = settings_for(settings.data_dir.parent / "other", database_url=settings.db_url)
    (other.ensure_data_dir() / "secret_key").write_text("y" * 64)
    assert other.secret_key(store) == old


def test_a_deleted_secret_is_refused_everywhere_until_restored(settings, store):
    radar = Radar(settings)
    try:
        create_app(settings, radar)  # the server starts and signs with the secret
        secret = store.get_meta("secret_key")
        link = signer_from_settings(settings, store).sign("unsubscribe", {"s": 1})
        drop_secret_row(store)

        with pytest.raises(SecretKeyError, match="secret is missing.*restore it from a backup.*secret reset"):
            service(settings, store)  # what `digest run` builds: no mail with links nobody can verify
        with pytest.raises(SecretKeyError):
            create_app(settings, radar)
        r = cli(settings, "digest", "run")
        assert r.exit_code == 1 and "secret is missing" in r.output and "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1
        assert store.get_meta("secret_key") is None  # nothing was made behind the user's back

        (settings.data_dir / "secret_key").write_text(secret)  # restored from a backup of the old file
        assert cli(settings, "secret", "check").stdout.strip().endswith(f"(fingerprint {fingerprint(secret)})")
        assert store.get_meta("secret_key") == secret
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
def test_an_empty_short_or_unreadable_secret_file_is_not_adopted(settings, store, content, says):
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
    assert store.get_meta("secret_key_sha256") is None and store.get_meta("secret_key") is None


def test_a_short_secret_in_the_store_is_refused(settings, store):
    settings.secret_key(store)
    with store.engine.begin() as conn:
        conn.execute(update(meta).where(meta.c.key == "secret_key").values(value="short"))
    with pytest.raises(SecretKeyError, match="holds 5 characters, too few"):
        settings.secret_key(store)


def test_a_different_secret_in_place_of_the_recorded_one_is_refused(settings, store):
    settings.secret_key(store)
    drop_secret_row(store)
    (settings.data_dir / "secret_key").write_text("x" * 64)
    with pytest.raises(SecretKeyError, match="is not the secret this database's links were signed with"):
        settings.secret_key(store)
    with store.engine.begin() as conn:
        conn.execute(meta.insert().values(key="secret_key", value="z" * 64))
    with pytest.raises(SecretKeyError, match="is not the one this database's links were signed with"):
        settings.secret_key(store)


def test_reset_starts_over_explicitly_and_keeps_the_old_secret(settings, store):
    old = settings.secret_key(store)
    old_link = TokenSigner([old]).sign("manage", {"s": 1})
    drop_secret_row(store)

    asked = cli(settings, "secret", "reset", input="n\n")
    assert asked.exit_code == 1 and store.get_meta("secret_key") is None

    (settings.data_dir / "secret_key").write_text(old)  # a legacy file's secret is kept on reset
    r = cli(settings, "secret", "reset", "--yes")
    assert r.exit_code == 0, r.output
    new = settings.secret_key(store)
    assert new != old and f"fingerprint {fingerprint(new)}" in r.stdout
    assert store.get_meta("secret_key_sha256") == fingerprint(new)
    assert not (settings.data_dir / "secret_key").exists()
    [kept] = settings.data_dir.glob("secret_key.old-*")
    assert kept.read_text().strip() == old and kept.name in r.stdout
    assert kept.stat().st_mode & 0o777 == 0o600
    with pytest.raises(BadToken):
        signer_from_settings(settings, store).verify("manage", old_link)
    settings.previous_secret_keys = [old]  # what the reset's message suggests
    assert signer_from_settings(settings, store).verify("manage", old_link) == {"s": 1}


def test_reset_of_a_secret_kept_in_the_store_keeps_it_too(settings, store):
    old = settings.secret_key(store)
    r = cli(settings, "secret", "reset", "--yes")
    assert r.exit_code == 0, r.output
    [kept] = settings.data_dir.glob("secret_key.old-*")
    assert kept.read_text().strip() == old
    assert settings.secret_key(store) not in (old, None)


def test_a_missing_secret_listed_as_previous_may_be_replaced(settings, store):
    """Rotation without `secret reset`: the old value in PREVIOUS_SECRET_KEYS, the row removed."""
    old = settings.secret_key(store)
    old_link = signer_from_settings(settings, store).sign("unsubscribe", {"s": 1})
    drop_secret_row(store)
    settings.previous_secret_keys = [old]
    new = settings.secret_key(store)
    assert new != old and store.get_meta("secret_key_sha256") == fingerprint(new)
    assert signer_from_settings(settings, store).verify("unsubscribe", old_link) == {"s": 1}
