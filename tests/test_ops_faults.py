"""Running it for real: a trickling upstream, a killed job, two writers on one SQLite file, and a
database error that must not reach the terminal with its statement and data.

Real processes, a real HTTP server on 127.0.0.1 (tests/fakes/oai_server.py), real SQLite files.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import paperradar
from fakes.oai_server import FakeArxiv
from paperradar.cli import app
from paperradar.config import Settings
from paperradar.harvest import FetchError, harvest_arxiv
from paperradar.harvest.polite import PoliteClient
from paperradar.store import Store, meta, runs
from paperradar.store.schema import runs as runs_table

SRC = Path(paperradar.__file__).resolve().parents[1]  # the package under test, for subprocesses
ENV = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
CS_PAGES = ["arXiv_cs_1.xml", "arXiv_cs_2.xml", "arXiv_cs_3.xml"]
runner = CliRunner()


@pytest.fixture
def fake():
    with FakeArxiv() as server:
        server.serve_list(CS_PAGES, fmt="arXiv", set_spec="cs")
        yield server


@pytest.fixture
def settings(tmp_path, fake) -> Settings:
    return Settings(data_dir=tmp_path / "data", oai_endpoint=fake.oai_url, harvest_pace_s=0.05,
                    harvest_backoff_s=0.05, harvest_retries=2, harvest_timeout_s=1.0)


@pytest.fixture
def store(settings):
    s = Store.from_settings(settings)
    yield s
    s.close()


# --- 9: the harvest timeout bounds a whole response ----------------------------------------------

@pytest.mark.parametrize("interval", [0.02, 0.002], ids=["headers-trickle", "body-trickle"])
def test_a_trickling_server_holds_a_harvest_no_longer_than_its_timeout(store, settings, fake, interval):
    """One byte every `interval` s never lets a per-read timeout fire: at 0.02 s the status
    line and headers alone take longer than the 1 s timeout, at 0.002 s the 3 KB body does."""
    fake.script(("trickle", interval))
    started = time.monotonic()
    counts = harvest_arxiv(store, settings, "cs", "2024-01-01")
    took = time.monotonic() - started
    assert counts.records == 5 and counts.requests == 4  # the trickled page was asked again
    first, second = fake.oai_hits()[:2]
    assert first.action == ("trickle", interval) and second.params == first.params
    assert 1.0 <= second.started - first.started < 3.0  # given up at the deadline (not 7-10 s later)
    assert took < 5.0


def test_a_response_cut_at_the_deadline_says_so(fake):
    fake.script(("trickle", 0.002))
    with PoliteClient(pace_s=0, retries=0, timeout_s=0.5) as client:
        with pytest.raises(FetchError, match=r"gave up after 1 attempts; last error: no complete response within 0.5 s"):
            client.fetch(fake.oai_url, {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs"}, bytes)


# --- 10: a killed job is not "running" forever ---------------------------------------------------

def test_a_killed_job_is_shown_abandoned_and_recorded_so_by_the_next(store, settings, fake):
    fake.script("hang")  # the harvest waits for its first page until it is killed
    cmd = [sys.executable, "-m", "paperradar", "-d", str(settings.data_dir), "harvest", "arxiv", "--set", "cs",
           "--from", "2024-01-01", "--no-index"]
    proc = subprocess.Popen(cmd, env={**ENV, "PAPERRADAR_OAI_ENDPOINT": fake.oai_url},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        fake.wait_for_hits(1, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    fake.release()

    stats = json.loads(runner.invoke(app, ["-d", str(settings.data_dir), "stats", "--json"]).stdout)
    [killed] = stats["runs"]
    assert (killed["job"], killed["status"], killed["finished_at"]) == ("harvest-arxiv", "abandoned", None)
    assert killed["owner"].endswith(f":{proc.pid}") and f":{proc.pid}) ended without recording" in killed["error"]

    mine = store.start_run("update")  # this process is alive: its run is running
    with store.tx() as conn:  # a run on another machine cannot be checked from here
        runs.start(conn, "update", owner="another-host:1")
    assert [r.status for r in store.last_runs()] == ["running", "running", "abandoned"]
    with store.engine.connect() as conn:  # starting a run recorded the abandoned one in the store
        stored = dict(conn.execute(select(runs_table.c.owner, runs_table.c.status)).all())
    assert stored[killed["owner"]] == "abandoned"
    store.finish_run(mine, "ok", {})


# --- 11 (store half): two writers on one SQLite file both finish -----------------------------------

WRITER = """
import sys, time
from pathlib import Path
from paperradar.ingest import ingest
from paperradar.sources.pages import read_page
from paperradar.store import Store

url, ready, go, files = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
store = Store(url)
pages = [read_page(Path(f)).papers for f in files]
ready.touch()
while not go.exists():  # start writing together with the other process
    time.sleep(0.002)
for papers in pages:
    ingest(store, papers)
"""


def test_two_processes_ingesting_the_same_pages_both_finish(tmp_path, seed_files):
    url = f"sqlite:///{tmp_path}/p.db"
    Store(url).close()  # the schema exists, as for two `ingest` runs on one data dir
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(tmp_path / f"ready{i}"), str(go),
                                 *map(str, seed_files)], env=ENV, stderr=subprocess.PIPE)
               for i in range(2)]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    for w in writers:
        _, stderr = w.communicate(timeout=120)
        assert w.returncode == 0, stderr.decode()[-2000:]
    store = Store(url)
    try:
        assert store.count_papers() == 576  # every paper once: nobody's files were lost
        assert store.max_seq() == 576  # and each insert got its own change number
    finally:
        store.close()


def test_a_writer_waits_for_the_other_and_reads_do_not_wait(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/p.db")
    other = Store(store.url)
    try:
        with store.tx() as conn:  # holds the write lock from its first statement on
            meta.put(conn, "k", "first")
            started = time.monotonic()
            assert other.get_meta("k") is None  # a read neither waits nor sees uncommitted data
            assert time.monotonic() - started < 0.5
            writer = subprocess.Popen([sys.executable, "-c", "import sys; from paperradar.store import Store; "
                                       "Store(sys.argv[1]).put_meta('k', 'second')", store.url], env=ENV)
            time.sleep(1.5)  # the other process starts and blocks at BEGIN IMMEDIATE
            assert writer.poll() is None
        assert writer.wait(timeout=30) == 0  # it waited for the commit instead of failing
        assert other.get_meta("k") == "second"
    finally:
        other.close()
        store.close()


# --- 12: an unexpected error is one line, without SQL or data ------------------------------------

def test_an_unexpected_database_error_is_one_line_without_sql_or_data(tmp_path, caplog):
    data = tmp_path / "data"
    Store.from_settings(Settings(data_dir=data)).close()
    read_only = {"PAPERRADAR_DATABASE_URL": f"sqlite:///file:{data / 'paperradar.db'}?mode=ro&uri=true"}
    args = ["-d", str(data), "subscribers", "add", "ada@example.org", "--topic", "private interest"]
    with caplog.at_level(logging.DEBUG, logger="paperradar.cli"):
        r = runner.invoke(app, args, env=read_only)
    assert r.exit_code == 1
    assert r.output.strip() == ("error: unexpected OperationalError: attempt to write a readonly database "
                                "(set PAPERRADAR_DEBUG=1 for details)")
    logged = caplog.records[-1]  # the statement and its parameters go to the debug log only
    assert logged.levelno == logging.DEBUG and "INSERT INTO subscribers" in str(logged.exc_info[1])
    debug = runner.invoke(app, args, env={**read_only, "PAPERRADAR_DEBUG": "1"})
    assert "ada@example.org" in str(debug.exception)  # the traceback, when asked for
