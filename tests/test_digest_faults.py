"""Sending digests through faults that are not the recipients' doing: a bad SMTP URL, a database locked
by another process or restarting mid-send, a mail server that is down, hung or allows fewer
connections than we open, an arXiv that cannot be reached on the worker's day, and two
`digest run`s at once on one PostgreSQL database.

Every fault is real: a second SQLite connection holding the write lock, a PostgreSQL database
closed to connections, a port nobody listens on, an SMTP server that answers 421 or nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

import paperradar
from fakes.digest_world import GRADIENT, Clock, add_papers, service, settings_for, subscribe
from fakes.oai_server import FakeArxiv
from fakes.smtp_server import FakeSMTP, free_port
from paperradar.harvest import run_worker
from paperradar.store import Store

SRC = str(Path(paperradar.__file__).resolve().parents[1])


def readers(store: Store, n: int, **kw) -> list[str]:
    emails = [f"reader{i:02d}@example.com" for i in range(n)]
    for email in emails:
        subscribe(store, email, ["gradient inversion"], **kw)
    return emails


def in_thread(fn, timeout: float = 30):
    """Run `fn` in a thread and return its result; a sender that hangs fails the test instead."""
    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(value=fn()), daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"still running after {timeout}s: the sender hangs"
    return out["value"]


def cli(settings, *args, **env) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC, "PAPERRADAR_MAIL_FROM": settings.mail_from,
           "PAPERRADAR_BASE_URL": settings.base_url, **env}
    return subprocess.run([sys.executable, "-m", "paperradar", "-d", str(settings.data_dir), *args],
                          env=env, capture_output=True, text=True, timeout=60)


def exactly_once(smtp: FakeSMTP, emails: list[str]) -> None:
    copies = smtp.by_recipient()
    assert sorted(copies) == sorted(emails)
    assert all(len(v) == 1 for v in copies.values()), {k: len(v) for k, v in copies.items()}


# --- configuration ---------------------------------------------------------------------------

def test_a_bad_smtp_url_is_one_line_and_exit_2_before_anything_is_claimed(tmp_path):
    settings = settings_for(tmp_path / "data")
    store = Store.from_settings(settings)
    add_papers(store, "2401", GRADIENT)
    readers(store, 12)  # more rows than the sender's queue holds: where the old sender hung
    svc = service(settings, store)
    svc.plan(svc.clock().date())

    for command in (["digest", "run"], ["worker", "--now", "--once"]):
        r = cli(settings, *command, PAPERRADAR_SMTP_URL="smtp://127.0.0.1:1?starttls=bogus",
                PAPERRADAR_OAI_ENDPOINT=f"http://127.0.0.1:{free_port()}/oai", PAPERRADAR_HARVEST_RETRIES="0")
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        assert r.stderr == "error: SMTP URL option starttls must be auto, always or never, got 'bogus'\n"
    rows = store.outbox_for_date(svc.clock().date())
    assert {(row.state, row.attempts) for row in rows} == {("pending", 0)}
    assert store.last_runs(job="update") == []  # the worker stopped before harvesting
    store.close()


# --- the database fails while sending ----------------------------------------------------------

def impatient_sqlite(store: Store, ms: int = 200) -> None:
    """Make this store give up on a locked SQLite file after `ms` instead of 30 s (a real lock
    held longer than the busy timeout, without waiting half a minute in a test)."""
    @event.listens_for(store.engine, "connect")
    def _short_busy_timeout(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA busy_timeout={ms}")

    store.engine.dispose()


def lock_sqlite_on(smtp: FakeSMTP, db_file: Path, *, nth: int, seconds: float) -> list[float]:
    """When the server receives the `nth` message body, another connection takes the
    database's write lock (BEGIN IMMEDIATE) and keeps it for `seconds`."""
    seen, held = [], []

    def lock(recipient: str) -> None:
        seen.append(recipient)
        if len(seen) != nth:
            return
        conn = sqlite3.connect(db_file, check_same_thread=False, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.append(time.monotonic())

        def release():
            conn.execute("ROLLBACK")
            conn.close()
            held.append(time.monotonic())

        threading.Timer(seconds, release).start()

    smtp.on_data = lock
    return held


def test_a_database_lock_during_sending_is_waited_out_and_nothing_goes_twice(tmp_path):
    with FakeSMTP() as smtp:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url, smtp_connections=2,
                                digest_store_patience=20)
        store = Store.from_settings(settings)
        add_papers(store, "2401", GRADIENT)
        emails = readers(store, 6)
        svc = service(settings, store)
        today = svc.clock().date()
        svc.plan(today)
        impatient_sqlite(store)
        held = lock_sqlite_on(smtp, settings.data_dir / "paperradar.db", nth=2, seconds=2)

        summary = in_thread(lambda: svc.send(today))
        assert len(held) == 2, "the lock was taken and released during the run"
        assert summary.stopped is None and summary.sent == 6
        assert {row.state for row in store.outbox_for_date(today)} == {"sent"}
        again = svc.send(today)  # what went out during the lock was recorded: nothing is resent
        assert again.sent == 0 and again.resumed == 0
        exactly_once(smtp, emails)
        store.close()


def test_a_database_locked_for_longer_than_the_patience_stops_the_run_clearly(tmp_path):
    with FakeSMTP() as smtp:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url, smtp_connections=1,
                                digest_store_patience=1)
        store = Store.from_settings(settings)
        add_papers(store, "2401", GRADIENT)
        emails = readers(store, 6)
        svc = service(settings, store)
        today = svc.clock().date()
        svc.plan(today)
        impatient_sqlite(store)
        held = lock_sqlite_on(smtp, settings.data_dir / "paperradar.db", nth=2, seconds=4)

        summary = in_thread(lambda: svc.send(today))
        assert summary.stopped.startswith("the database is not usable: database is locked")
        assert "left `sending`, taken back by the next run" in summary.stopped
        assert len(smtp.received()) == 2  # nothing more went out once the database stopped answering
        while len(held) < 2:
            time.sleep(0.1)
        later = svc.send(today)  # this process's earlier run is over: its claims are taken back
        assert later.stopped is None and later.resumed >= 1
        assert {row.state for row in store.outbox_for_date(today)} == {"sent"}
        copies = smtp.by_recipient()
        assert sorted(copies) == emails
        # one digest each; only the message whose result could not be recorded went twice, as
        # the same message (docs/digest.md, crash policy)
        assert all(len({m.message_id for m in v}) == 1 for v in copies.values())
        assert sum(len(v) - 1 for v in copies.values()) <= 1
        store.close()


@pytest.fixture
def pg_url(postgres):
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres.psql(f"CREATE DATABASE {name};")
    return name, postgres.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)


def test_a_postgresql_outage_mid_send_is_waited_out(tmp_path, postgres, pg_url):
    name, url = pg_url
    with FakeSMTP() as smtp:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url, database_url=url, smtp_connections=2,
                                digest_store_patience=20)
        store = Store.from_settings(settings)
        add_papers(store, "2401", GRADIENT)
        emails = readers(store, 6)
        svc = service(settings, store)
        today = svc.clock().date()
        svc.plan(today)
        down = []

        def restart(recipient: str) -> None:  # as a restart looks to clients: dropped, then refused
            if down:
                return
            postgres.psql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) "
                          f"FROM pg_stat_activity WHERE datname = '{name}';")
            down.append(time.monotonic())
            threading.Timer(2, lambda: postgres.psql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true;")).start()

        smtp.on_data = restart
        summary = in_thread(lambda: svc.send(today))
        assert down and summary.stopped is None and summary.sent == 6
        assert {row.state for row in store.outbox_for_date(today)} == {"sent"}
        assert svc.send(today).sent == 0
        exactly_once(smtp, emails)
        store.close()


# --- the mail server fails ---------------------------------------------------------------------

@pytest.mark.parametrize("how", ["refused", "hung"])
def test_a_mail_server_outage_never_counts_against_the_recipients(tmp_path, how):
    port = free_port()
    settings = settings_for(tmp_path / "data", smtp_url=f"smtp://127.0.0.1:{port}", smtp_timeout=1,
                            smtp_connections=2, digest_max_attempts=2)
    store = Store.from_settings(settings)
    add_papers(store, "2401", GRADIENT)
    emails = readers(store, 3)
    clock = Clock()
    today = clock.now.date()  # given to every run: three hours later may be tomorrow
    svc = service(settings, store, clock=clock)
    for _ in range(3):  # more runs than max_attempts
        with FakeSMTP(port=port, stall=True) if how == "hung" else contextlib.nullcontext():  # refused: nobody there
            report = svc.run(today)
        rows = store.outbox_for_date(today)
        assert {(row.state, row.attempts) for row in rows} == {("pending", 0)}
        assert all("not counted as an attempt" in row.last_error for row in rows if row.last_error)
        assert report.send.stopped.startswith("the mail server is not usable: connecting to 127.0.0.1")
        assert report.send.failed == 0 and report.send.retry_later == 0
        clock.advance(hours=1)
    with FakeSMTP(port=port) as smtp:
        report = svc.run(today)
    assert report.send.sent == 3 and report.send.stopped is None
    assert {(row.state, row.attempts) for row in store.outbox_for_date(today)} == {("sent", 1)}
    exactly_once(smtp, emails)
    store.close()


def test_a_server_that_allows_two_connections_gets_all_the_mail_through_two(tmp_path):
    with FakeSMTP(max_connections=2) as smtp:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url, smtp_connections=4)
        store = Store.from_settings(settings)
        add_papers(store, "2401", GRADIENT)
        emails = readers(store, 12)
        smtp.on_rcpt = lambda recipient: time.sleep(0.05)  # a busy server: every connection gets a row
        report = service(settings, store).run()
        assert report.send.stopped is None and report.send.sent == 12
        assert {(row.state, row.attempts) for row in store.outbox_for_date(report.digest_date)} == {("sent", 1)}
        refused = smtp.connections - 2
        assert 1 <= refused <= 2  # the ones over the limit were tried once, then left alone
        assert sum("sending through the others" in e and "421" in e for e in report.send.errors) == refused
        exactly_once(smtp, emails)
        store.close()


# --- the worker --------------------------------------------------------------------------------

def test_the_worker_retries_an_outage_and_deferred_mail_on_their_backoff(tmp_path):
    port = free_port()
    with FakeArxiv() as arxiv:
        arxiv.serve_list(["arXiv_cs_1.xml", "arXiv_cs_2.xml", "arXiv_cs_3.xml"], fmt="arXiv", set_spec="cs")
        settings = settings_for(tmp_path / "data", smtp_url=f"smtp://127.0.0.1:{port}", smtp_connections=1,
                                digest_retry_base=1, oai_endpoint=arxiv.oai_url, harvest_pace_s=0.01,
                                harvest_backoff_s=0.01)
        store = Store.from_settings(settings)
        add_papers(store, "2401", GRADIENT)
        subscribe(store, "bob@example.com", ["gradient inversion"])
        lines: list[str] = []
        results = []
        stop = threading.Event()
        worker = threading.Thread(target=lambda: results.append(run_worker(
            store, settings, digests=service(settings, store), run_now=True, stop=stop, log=lines.append)))
        worker.start()
        try:
            deadline = time.monotonic() + 20
            while not any("stopped early" in line for line in lines) and time.monotonic() < deadline:
                time.sleep(0.05)
            with FakeSMTP(port=port) as smtp:  # the server is back, and defers bob once
                smtp.script("bob@example.com", "451")
                while not smtp.received("bob@example.com") and time.monotonic() < deadline:
                    time.sleep(0.05)
                stop.set()
                worker.join(10)
                assert len(smtp.received("bob@example.com")) == 1, lines
                assert smtp.refused == [("bob@example.com", "451")]
        finally:
            stop.set()
            worker.join(10)
    assert lines[0].startswith("update done: ")
    assert any(line.startswith("digests stopped early, the mail server is not usable") for line in lines)
    assert any(line.startswith("next digest retry at") for line in lines)
    [result] = results
    assert result.runs == 1 and result.failed == 1 and result.retries >= 2
    [row] = store.outbox_for_date(Clock().now.date())
    assert row.state == "sent" and row.attempts == 2  # the 451 counted, the outage did not
    store.close()


def test_a_failed_harvest_still_sends_the_days_digests_from_stored_papers(tmp_path):
    with FakeSMTP() as smtp:
        arxiv_down = f"http://127.0.0.1:{free_port()}/oai"
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url, oai_endpoint=arxiv_down,
                                harvest_retries=1, harvest_backoff_s=0.01, harvest_pace_s=0.01)
        store = Store.from_settings(settings)
        add_papers(store, "2401", GRADIENT)
        subscribe(store, "alice@example.com", ["gradient inversion"])
        lines: list[str] = []
        result = run_worker(store, settings, digests=service(settings, store), run_now=True, max_runs=1,
                            log=lines.append)
        assert result.runs == 1 and result.failed == 1
        assert lines[0].startswith("update failed: ")
        assert lines[0].endswith("; sending today's digests from the papers already stored")
        assert [r.status for r in store.last_runs(job="update")] == ["failed"]
        [mail] = smtp.received("alice@example.com")
        assert "Gradient inversion attacks reconstruct" in mail.message.get_body(("plain",)).get_content()
        store.close()


# --- two senders on one PostgreSQL database ----------------------------------------------------

WAITING_ON_OUTBOX = text("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                         "WHERE c.relname = 'outbox' AND NOT l.granted")


def test_two_digest_runs_at_once_on_postgresql_send_each_digest_once(tmp_path, pg_url):
    """Both processes read and choose freely, then are held at their first write to the outbox
    until both wait there: they write the same subscribers' rows at the same moment, and
    uq_outbox_subscriber_date decides (a plain INSERT made the second one crash)."""
    _, url = pg_url
    with FakeSMTP() as smtp:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url, database_url=url)
        store = Store.from_settings(settings)
        emails = readers(store, 40, send_empty=True)  # no papers: empty digests, no model to load
        command = [sys.executable, "-m", "paperradar", "-d", str(settings.data_dir), "digest", "run"]
        env = {**os.environ, "PYTHONPATH": SRC, "PAPERRADAR_DATABASE_URL": url, "PAPERRADAR_SMTP_URL": smtp.url,
               "PAPERRADAR_SMTP_CONNECTIONS": "2", "PAPERRADAR_MAIL_FROM": settings.mail_from,
               "PAPERRADAR_BASE_URL": settings.base_url}
        gate = create_engine(url)
        watcher = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with gate.connect() as conn, conn.begin():
                conn.execute(text("LOCK TABLE outbox IN SHARE MODE"))  # reads pass, writes wait
                procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                         for _ in range(2)]
                deadline = time.monotonic() + 60
                with watcher.connect() as w:
                    while time.monotonic() < deadline:
                        waiting = w.execute(WAITING_ON_OUTBOX).scalar()
                        if waiting == 2 or any(p.poll() is not None for p in procs):
                            break
                        time.sleep(0.05)
                assert waiting == 2, [p.communicate() for p in procs if p.poll() is not None]
            outputs = [p.communicate(timeout=60) for p in procs]
        finally:
            gate.dispose()
            watcher.dispose()
        for p, (stdout, stderr) in zip(procs, outputs):
            assert p.returncode == 0 and "error" not in stderr.lower(), stderr
        planned = sorted(int(stdout.split("planned ")[1].split(",")[0]) for stdout, _ in outputs)
        assert sum(planned) == 40  # each row written by exactly one of them
        assert sorted(row.state for row in store.outbox_for_date(Clock().now.date())) == ["sent"] * 40
        exactly_once(smtp, emails)
        store.close()
