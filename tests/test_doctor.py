"""`paperradar doctor`: one line per check, ok/warn/fail, exit 1 only when something fails; on a
real SQLite data dir, a real PostgreSQL (pgserver) and real SMTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

from conftest import make_settings
from fakes.smtp_server import FakeSMTP, free_port
from paperradar.cli import app
from paperradar.ingest import ingest
from paperradar.models import Paper
from paperradar.radar import Radar
from paperradar.store import Store
from paperradar.store.db import MIGRATIONS, writing

runner = CliRunner()
LINE = re.compile(r"(ok|warn|fail) +(\S+(?: dir)?) +(.+)")


def paper(n: int) -> Paper:
    return Paper(id=f"2501.{n:05d}", arxiv_id=f"2501.{n:05d}", version=1, title=f"Sparse attention study number {n}",
                 abstract="We measure how sparse attention patterns trade accuracy for speed.",
                 authors=["Ada Lovelace"], categories=["cs.LG"])


def deployed(settings) -> None:
    """A data dir as a running deployment leaves it: papers stored and indexed, the secret made."""
    r = Radar(settings)
    try:
        ingest(r.store, [paper(n) for n in range(3)])
        r.sync_indexes()
        settings.secret_key(r.store)
    finally:
        r.close()


def doctor(data_dir, *args, **env):
    result = runner.invoke(app, ["-d", str(data_dir), "doctor", *args],
                           env={f"PAPERRADAR_{k.upper()}": v for k, v in env.items()})
    assert "Traceback" not in result.output
    return result


def lines(result) -> dict[str, tuple[str, str]]:
    found = {}
    for line in result.stdout.splitlines():
        m = LINE.fullmatch(line)
        assert m, f"not a check line: {line!r}"
        found[m.group(2)] = (m.group(1), m.group(3))
    return found


def test_a_healthy_sqlite_data_dir_passes_every_check(tmp_path):
    deployed(make_settings(tmp_path / "data"))
    result = doctor(tmp_path / "data")
    assert result.exit_code == 0, result.output
    checks = lines(result)
    assert list(checks) == ["data dir", "disk", "database", "schema", "secret", "indexes", "model", "mail"]
    assert {status for status, _ in checks.values()} == {"ok"}, result.output
    assert checks["database"][1].startswith("SQLite ")
    assert "outbox" in checks["mail"][1]
    as_json = json.loads(doctor(tmp_path / "data", "--json").stdout)
    assert [c["check"] for c in as_json] == list(checks) and {c["status"] for c in as_json} == {"ok"}


def test_an_smtp_server_nobody_listens_on_fails_naming_host_and_port(tmp_path):
    deployed(make_settings(tmp_path / "data"))
    port = free_port()
    result = doctor(tmp_path / "data", smtp_url=f"smtp://127.0.0.1:{port}")
    assert result.exit_code == 1, result.output
    status, message = lines(result)["mail"]
    assert status == "fail" and f"127.0.0.1:{port}" in message and "PAPERRADAR_SMTP_URL" in message


def test_a_hung_smtp_server_fails_within_the_short_timeout_and_a_live_one_passes(tmp_path):
    deployed(make_settings(tmp_path / "data"))
    with FakeSMTP(stall=True) as smtp:
        started = time.monotonic()
        result = doctor(tmp_path / "data", smtp_url=smtp.url)
        took = time.monotonic() - started
    assert result.exit_code == 1 and lines(result)["mail"][0] == "fail", result.output
    assert took < 30  # the doctor's own 5 s, not the sender's 30 s per attempt
    with FakeSMTP() as smtp:
        result = doctor(tmp_path / "data", smtp_url=smtp.url)
    assert result.exit_code == 0, result.output
    assert lines(result)["mail"] == ("ok", f"SMTP server {smtp.url.split('//')[1].rstrip('/')} answers")


def test_postgresql_with_pgvector_is_checked_and_ok(tmp_path, postgres):
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres.psql(f"CREATE DATABASE {name};")
    url = postgres.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)
    deployed(make_settings(tmp_path / "data", database_url=url))
    result = doctor(tmp_path / "data", database_url=url)
    assert result.exit_code == 0, result.output
    checks = lines(result)
    assert list(checks) == ["data dir", "disk", "database", "schema", "pgvector", "secret", "indexes", "model", "mail"]
    assert {status for status, _ in checks.values()} == {"ok"}, result.output
    assert checks["database"][1].startswith("PostgreSQL 16")
    assert "3 all-MiniLM-L6-v2 vectors searchable" in checks["pgvector"][1]


def test_a_schema_behind_the_code_warns_and_says_how_to_upgrade(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    store = Store(f"sqlite:///{data / 'paperradar.db'}", migrate_schema=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with writing(store.engine) as conn:  # as an older paperradar left it
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
    store.close()
    result = doctor(data)
    assert result.exit_code == 0, result.output  # it works as it is; nothing failed
    checks = lines(result)
    assert checks["schema"][0] == "warn" and "revision 0008" in checks["schema"][1]
    assert "paperradar migrate" in checks["schema"][1]
    assert checks["indexes"] == ("warn", "not checked: the schema is not current")
    # the doctor only looked: the schema is still where it was
    assert doctor(data).stdout == result.stdout
    # `migrate` upgrades it and says from where; a second run has nothing to do
    upgraded = runner.invoke(app, ["-d", str(data), "migrate", "--json"])
    assert upgraded.exit_code == 0, upgraded.output
    assert json.loads(upgraded.stdout)["upgraded_from"] == ["0008"]
    again = runner.invoke(app, ["-d", str(data), "migrate"])
    assert "the schema is up to date" in again.stdout
    assert lines(doctor(data))["schema"][0] == "ok"


def test_an_index_behind_the_store_warns_with_how_far(tmp_path):
    settings = make_settings(tmp_path / "data")
    deployed(settings)
    store = Store(settings.db_url)
    ingest(store, [paper(n) for n in range(10, 14)])  # another process stored them; nothing indexed them here
    store.close()
    result = doctor(tmp_path / "data")
    assert result.exit_code == 0, result.output
    status, message = lines(result)["indexes"]
    assert status == "warn" and "keyword index 4 changes behind" in message and "vectors index 4 changes behind" in message


def test_an_unreachable_database_fails_and_skips_what_needs_it(tmp_path):
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    result = doctor(tmp_path / "data", database_url=url)
    assert result.exit_code == 1
    checks = lines(result)
    assert checks["database"][0] == "fail" and "cannot connect to postgresql+psycopg://nobody@127.0.0.1" in checks["database"][1]
    assert checks["schema"] == ("warn", "not checked: the database is not reachable")
