"""Harvesting arXiv politely against a fake arXiv on 127.0.0.1 (real HTTP, scripted failures).

Pacing is checked from the server's own request timestamps; the pace is a setting so most tests
run at 0.05 s, and one uses the real 3 s.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from fakes.oai_pages import arxiv_list
from fakes.oai_server import FakeArxiv
from paperradar.cli import app
from paperradar.config import Settings
from paperradar.harvest import FetchError, harvest_arxiv, run_update, run_worker
from paperradar.harvest.arxiv_oai import checkpoint_key
from paperradar.harvest.daily import next_run_at
from paperradar.models import Paper
from paperradar.store import Store

PACE = 0.05
CS_PAGES = ["arXiv_cs_1.xml", "arXiv_cs_2.xml", "arXiv_cs_3.xml"]
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def fake():
    with FakeArxiv() as server:
        server.serve_list(CS_PAGES, fmt="arXiv", set_spec="cs")
        yield server


@pytest.fixture
def settings(tmp_path, fake) -> Settings:
    return Settings(data_dir=tmp_path / "data", oai_endpoint=fake.oai_url, arxiv_api_endpoint=fake.api_url,
                    harvest_pace_s=PACE, harvest_backoff_s=0.05, harvest_retries=3)


@pytest.fixture
def store(settings):
    s = Store.from_settings(settings)
    yield s
    s.close()


def dump(store: Store) -> list:
    """Every stored row of papers and sightings, to compare store states exactly."""
    with store.engine.connect() as conn:
        papers = conn.execute(text("SELECT * FROM papers ORDER BY id")).all()
        sightings = conn.execute(text("SELECT * FROM sightings ORDER BY paper_id, source, ref, position")).all()
    return [tuple(r) for r in papers] + [tuple(r) for r in sightings]


def checkpoint(store: Store, settings: Settings, set_spec="cs", fmt="arXiv") -> dict:
    return json.loads(store.get_meta(checkpoint_key(settings.oai_endpoint, set_spec, fmt)) or "{}")


def test_harvest_walks_the_list_and_checkpoints(store, settings, fake):
    counts = harvest_arxiv(store, settings, "cs", "2024-01-01")
    assert (counts.pages, counts.records, counts.added, counts.deleted, counts.requests) == (3, 5, 5, 1, 3)
    params = [h.params for h in fake.oai_hits()]
    assert params[0] == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2024-01-01"}
    assert params[1:] == [{"verb": "ListRecords", "resumptionToken": "cs-arXiv|3"},
                          {"verb": "ListRecords", "resumptionToken": "cs-arXiv|5"}]
    assert store.count_papers() == 5
    assert store.get_paper("2401.00002").authors == ["Paul Erdős", "Eduard Čech"]
    state = checkpoint(store, settings)
    assert state["token"] is None and state["next_from"] == "2024-01-10"  # the last responseDate's day
    [run] = store.last_runs()
    assert run.job == "harvest-arxiv" and run.status == "ok" and run.counts["added"] == 5
    # harvested papers are listed: v1 2024-01-02 is 8 days before the response, so not "just
    # announced": it is listed on its own day (test below: a recent v1 is listed on the harvest's)
    listing = store.get_listing("2401.00002")
    assert (listing.day, listing.source) == (dt.date(2024, 1, 2), "oai")


def test_a_backfill_lists_old_papers_on_their_own_day():
    from paperradar.harvest.arxiv_oai import list_announced

    old, new = Paper(title="Old", published=dt.date(2023, 5, 2)), Paper(title="New", published=dt.date(2024, 1, 8))
    list_announced([old, new], "2024-01-10T03:12:45Z")
    assert old.listing.day == dt.date(2023, 5, 2) and new.listing.day == dt.date(2024, 1, 10)


def test_one_connection_and_pace_measured_by_the_server(store, settings, fake):
    settings = settings.model_copy(update={"harvest_pace_s": 0.3})
    fake.script("ok", ("delay", 0.5))  # page 2 takes 0.5 s to answer
    harvest_arxiv(store, settings, "cs", "2024-01-01")
    hits = fake.oai_hits()
    assert len({h.client_port for h in hits}) == 1  # one keep-alive connection for the whole list
    first, second = fake.gaps()
    assert first >= 0.3
    assert second >= 0.5 + 0.3  # the pace counts from the end of the previous response


def test_the_real_three_second_pace(store, settings, fake):
    settings = settings.model_copy(update={"harvest_pace_s": 3.0})
    assert Settings().harvest_pace_s == 3.0  # the default is arXiv's own rule
    harvest_arxiv(store, settings, "cs", "2024-01-01")
    gaps = fake.gaps()
    assert len(gaps) == 2 and min(gaps) >= 3.0


@pytest.mark.parametrize("retry_after, at_least", [("0", PACE), ("1", 1.0), ("http-date", 1.0)])
def test_503_retry_after_is_honoured(store, settings, fake, retry_after, at_least):
    if retry_after == "http-date":
        # An HTTP-date has whole seconds: round up so that at least 2 s remain when it is read.
        retry_after = email.utils.formatdate(math.ceil(time.time()) + 2, usegmt=True)
    fake.script(("503", retry_after))
    counts = harvest_arxiv(store, settings, "cs", "2024-01-01")
    assert counts.records == 5 and counts.requests == 4
    first, second = fake.oai_hits()[:2]
    assert first.action == ("503", retry_after)
    assert second.started - first.started >= at_least
    assert second.params == first.params  # the same request again


def test_drops_malformed_pages_and_5xx_are_retried(store, settings, fake):
    fake.script("ok", "drop", "malformed", "500")
    counts = harvest_arxiv(store, settings, "cs", "2024-01-01")
    assert counts.records == 5 and counts.requests == 6
    assert [h.params.get("resumptionToken") for h in fake.oai_hits()] == [None, "cs-arXiv|3", "cs-arXiv|3",
                                                                         "cs-arXiv|3", "cs-arXiv|3", "cs-arXiv|5"]
    gaps = fake.gaps()
    assert all(g >= PACE for g in gaps)


def test_bounded_retries_end_in_a_clear_error_and_a_resumable_checkpoint(store, settings, fake):
    fake.script("ok", "malformed", "malformed", "malformed", "malformed")
    with pytest.raises(FetchError, match=r"gave up after 4 attempts; last error: malformed XML"):
        harvest_arxiv(store, settings, "cs", "2024-01-01")
    assert store.count_papers() == 3  # page 1 is kept
    assert checkpoint(store, settings)["token"] == "cs-arXiv|3"
    [run] = store.last_runs()
    assert run.status == "failed" and "gave up after 4 attempts" in run.error
    # The next run (no --from) continues at the checkpointed token, not from the start.
    counts = harvest_arxiv(store, settings, "cs")
    assert fake.oai_hits()[5].params == {"verb": "ListRecords", "resumptionToken": "cs-arXiv|3"}
    assert counts.records == 2 and store.count_papers() == 5


def test_no_records_match_is_an_empty_success(store, settings, fake):
    counts = harvest_arxiv(store, settings, "math", "2024-03-01")
    assert (counts.records, counts.errors, counts.pages) == (0, 0, 1)
    assert fake.oai_hits()[0].params["set"] == "math"
    assert checkpoint(store, settings, "math")["next_from"] == "2024-03-01"


def test_other_oai_errors_fail_clearly(store, settings, fake):
    fake.serve_list(["error_badArgument.xml"], fmt="arXiv", set_spec="cs")
    with pytest.raises(FetchError, match="OAI-PMH error badArgument: Illegal date format"):
        harvest_arxiv(store, settings, "cs", "2024-01-01")


def test_expired_token_restarts_from_the_checkpointed_from(store, settings, fake):
    fake.script("ok", "expired")
    counts = harvest_arxiv(store, settings, "cs", "2024-01-01")
    params = [h.params for h in fake.oai_hits()]
    assert params[1] == {"verb": "ListRecords", "resumptionToken": "cs-arXiv|3"}
    assert params[2] == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2024-01-01"}
    assert counts.restarts == 1 and store.count_papers() == 5
    assert counts.added == 5 and counts.unchanged == 3  # page 1 again changes nothing


def test_next_run_starts_at_the_last_response(store, settings, fake):
    harvest_arxiv(store, settings, "cs", "2024-01-01")
    harvest_arxiv(store, settings, "cs")
    assert fake.oai_hits()[3].params["from"] == "2024-01-10"


def test_a_backfill_with_until_never_skips_days(store, settings, fake):
    harvest_arxiv(store, settings, "cs", "2023-12-01", "2023-12-31")
    assert checkpoint(store, settings)["next_from"] == "2024-01-01"  # not the response's 2024-01-10
    harvest_arxiv(store, settings, "cs")
    harvest_arxiv(store, settings, "cs", "2023-06-01", "2023-06-30")  # a later backfill
    assert checkpoint(store, settings)["next_from"] == "2024-01-10"  # keeps the incremental position
    assert [h.params.get("from") for h in fake.oai_hits() if "resumptionToken" not in h.params] == [
        "2023-12-01", "2024-01-01", "2023-06-01"]


def test_same_window_twice_leaves_the_store_unchanged(store, settings, fake):
    harvest_arxiv(store, settings, "cs", "2024-01-01")
    before = dump(store)
    again = harvest_arxiv(store, settings, "cs", "2024-01-01")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)
    assert dump(store) == before


def test_new_version_updates_the_paper_and_is_not_new(store, settings, fake):
    fake.serve_list(["arXivRaw_cs_v1.xml"], fmt="arXivRaw", set_spec="cs")
    first = harvest_arxiv(store, settings, "cs", "2024-01-01", fmt="arXivRaw")
    assert first.added == 1 and store.get_paper("2401.00001").version == 1
    fake.serve_list(["arXivRaw_cs_1.xml"], fmt="arXivRaw", set_spec="cs")
    second = harvest_arxiv(store, settings, "cs", "2024-01-02", fmt="arXivRaw")
    assert (second.added, second.updated) == (1, 1)  # hep-th/9901001 is new; 2401.00001 v2 is not
    paper = store.get_paper("2401.00001")
    assert paper.version == 2 and paper.title.endswith("(extended)")
    assert (paper.published, paper.updated) == (dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert store.count_papers() == 2
    # arXiv format (no version numbers): a later `updated` date also updates in place
    older = harvest_arxiv(store, settings, "cs", "2024-01-01", fmt="arXiv")
    assert store.get_paper("2401.00001").title.endswith("(extended)")  # older metadata never wins
    assert older.added == 4 and older.unchanged == 1 and store.count_papers() == 6


def test_deleted_record_marks_the_paper_withdrawn(store, settings, fake):
    store.upsert_papers([Paper(title="Soon Gone", id="2312.09999", arxiv_id="2312.09999", version=1)])
    counts = harvest_arxiv(store, settings, "cs", "2024-01-01")
    assert counts.deleted == 1 and counts.withdrawn == 1
    assert store.get_paper("2312.09999").withdrawn
    assert "2312.09999" not in [p.id for p in store.latest_papers(50)]


def test_killed_harvest_resumes_where_it_stopped(tmp_path, fake):
    """SIGKILL a real `paperradar harvest arxiv` process mid-list, then run it again."""
    fake.serve_list(arxiv_list(300, 50, name="big"), fmt="arXiv", set_spec="cs")
    fake.script("ok", "ok", "ok", "hang")  # the 4th request never answers until released
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "PAPERRADAR_HARVEST_PACE_S": str(PACE), "PAPERRADAR_OAI_ENDPOINT": fake.oai_url}
    cmd = [sys.executable, "-m", "paperradar", "-d", str(data), "harvest", "arxiv", "--set", "cs", "--no-index",
           "--from", "2024-01-01", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        fake.wait_for_hits(4, timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    fake.release()
    assert proc.returncode == -signal.SIGKILL
    store = Store(Settings(data_dir=data).db_url)
    try:
        assert store.count_papers() == 150  # three pages committed, each with its checkpoint
        state = checkpoint(store, Settings(data_dir=data, oai_endpoint=fake.oai_url))
        assert state["token"] == "big|150"
        assert store.last_runs()[0].status == "abandoned"  # the killed run never finished
    finally:
        store.close()

    done = subprocess.run(cmd[:-3] + ["--json"], env=env, capture_output=True, timeout=60)  # no --from: resume
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads(done.stdout)
    assert summary["records"] == 150 and summary["added"] == 150 and summary["requests"] == 3
    resumed = fake.oai_hits()[4:]
    assert [h.params.get("resumptionToken") for h in resumed] == ["big|150", "big|200", "big|250"]
    store = Store(Settings(data_dir=data).db_url)
    try:
        assert store.count_papers() == 300
        assert [r.status for r in store.last_runs()] == ["ok", "abandoned"]
    finally:
        store.close()


# --- the command line ---------------------------------------------------------------------------

runner = CliRunner()


def cli(settings: Settings, *args):
    env = {"PAPERRADAR_HARVEST_PACE_S": str(settings.harvest_pace_s), "PAPERRADAR_HARVEST_BACKOFF_S": "0.05",
           "PAPERRADAR_HARVEST_RETRIES": "2", "PAPERRADAR_OAI_ENDPOINT": settings.oai_endpoint,
           "PAPERRADAR_ARXIV_API_ENDPOINT": settings.arxiv_api_endpoint, "PAPERRADAR_API_BATCH": "2",
           "PAPERRADAR_HARVEST_SETS": "cs"}
    return runner.invoke(app, ["-d", str(settings.data_dir), *map(str, args)], env=env)


def test_cli_harvest_json_summary_and_search(settings, fake):
    r = cli(settings, "harvest", "arxiv", "--set", "cs", "--from", "2024-01-01", "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["added"] == 5 and summary["indexed"] == summary["embedded"] == 5 and summary["deleted"] == 1
    found = json.loads(cli(settings, "search", "normalizing flows tabular", "--json").stdout)
    assert found[0]["id"] == "2401.00002"


def test_cli_upstream_failure_is_one_line(settings, fake):
    fake.script("500", "500", "500")
    r = cli(settings, "harvest", "arxiv", "--set", "cs", "--from", "2024-01-01")
    assert r.exit_code == 1
    assert "gave up after 3 attempts; last error: HTTP 500" in r.output and "Traceback" not in r.output
    bad = cli(settings, "harvest", "arxiv", "--from", "yesterday")
    assert bad.exit_code == 1 and "--from expects YYYY-MM-DD" in bad.output
    unknown = cli(settings, "harvest", "arxiv", "--set", "nonsense.XX")
    assert unknown.exit_code == 1 and "unknown arXiv category" in unknown.output


def test_cli_add_ids_and_urls_in_paced_batches(settings, fake):
    fake.api_bad_ids.add("1234.12345")
    r = cli(settings, "add", "2401.01234v2", "https://arxiv.org/abs/hep-th/9901001v1",
            "https://arxiv.org/pdf/2312.00042.pdf", "1234.12345", "2401.99999", "not-an-id", "--json")
    assert r.exit_code == 1  # some ids failed; the others are stored
    summary = json.loads(r.stdout)
    assert sorted(summary["stored"]) == ["2312.00042", "2401.01234", "hep-th/9901001"]
    assert summary["failed"] == {"1234.12345": "incorrect id format for 1234.12345",
                                 "2401.99999": "not found on arXiv",
                                 "not-an-id": "not an arXiv id or abs/pdf URL"}
    api = [h for h in fake.hits if h.path == "/api/query"]
    # batches of 2; the batch holding the malformed id is answered with its error alone,
    # so its other id is asked for again
    assert [h.params["id_list"] for h in api] == ["2401.01234,hep-th/9901001", "2312.00042,1234.12345",
                                                  "2401.99999", "2312.00042"]
    assert len({h.client_port for h in api}) == 1 and min(fake.gaps(api)) >= PACE
    shown = json.loads(cli(settings, "show", "2401.01234", "--json").stdout)
    assert shown["title"] == "Retrieval-Augmented Generation for Naïve Users"


def test_update_and_stats_record_runs(settings, fake):
    r = cli(settings, "update", "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["added"] == 5 and summary["extra"] == {"indexed": 5, "embedded": 5}
    week_ago = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=7)).isoformat()
    assert fake.oai_hits()[0].params["from"] == week_ago  # a set never harvested starts a week back
    stats = json.loads(cli(settings, "stats", "--json").stdout)
    # newest first: the update's harvest started after the update itself
    assert [(run["job"], run["status"]) for run in stats["runs"]] == [("harvest-arxiv", "ok"), ("update", "ok")]
    assert stats["runs"][1]["counts"]["added"] == 5
    fake.script("500", "500", "500")
    failed = cli(settings, "update")
    assert failed.exit_code == 1
    human = cli(settings, "stats")
    assert "failed" in human.stdout and "gave up after 3 attempts" in human.stdout


def test_worker_runs_on_schedule_and_survives_a_failed_run(store, settings, fake):
    assert next_run_at(dt.datetime(2024, 1, 1, 1, 0), "02:00") == dt.datetime(2024, 1, 1, 2, 0)
    assert next_run_at(dt.datetime(2024, 1, 1, 2, 0), "02:00") == dt.datetime(2024, 1, 2, 2, 0)
    fake.script("500", "500", "500", "500")
    lines = []
    result = run_worker(store, settings, run_now=True, max_runs=1, log=lines.append)
    assert result.runs == 1 and result.failed == 1 and lines[0].startswith("update failed: ")
    assert [r.status for r in store.last_runs(job="update")] == ["failed"]


def test_update_hook_sees_every_committed_batch(store, settings, fake):
    seen = []
    counts = run_update(store, settings, on_change=lambda result: seen.append(result.new_ids),
                        after=lambda: {"embedded": 0}, today=dt.date(2024, 1, 8))
    assert fake.oai_hits()[0].params["from"] == "2024-01-01"
    assert seen == [["2401.00001", "2401.00002", "cs/0112017"], ["2401.00004"], ["2401.00006"]]
    assert counts.extra == {"embedded": 0}


def test_worker_cli_updates_then_sends_the_digests(settings, fake, seed_files):
    """The daily worker, once: harvest → index → digest, the mail landing in the outbox folder.

    The harvested fixture records are from 2024 (a backfill, not news), so the digest's news
    are the listing-page papers first seen today.
    """
    assert cli(settings, "ingest", "pages", *seed_files).exit_code == 0
    add = cli(settings, "subscribers", "add", "ada@example.org", "--topic", "gradient inversion attacks",
              "--confirmed")
    assert add.exit_code == 0, add.output
    r = cli(settings, "worker", "--now", "--once")
    assert r.exit_code == 0, r.output
    assert "update done: 5 records, 5 added" in r.output and ": sent 1" in r.output, r.output
    mails = list((settings.data_dir / "outbox").glob("*.eml"))
    assert len(mails) == 1
    assert "ada@example.org" in mails[0].read_text() and "nversion" in mails[0].read_text()


def test_worker_once_sends_the_digests_when_the_harvest_fails_and_exits_1(settings, fake):
    add = cli(settings, "subscribers", "add", "ada@example.org", "--topic", "gradient inversion", "--confirmed",
              "--send-empty")
    assert add.exit_code == 0, add.output
    fake.script(*["500"] * 10)  # arXiv is down for the whole run
    r = cli(settings, "worker", "--now", "--once")
    assert r.exit_code == 1, r.output
    assert "update failed: " in r.output and "sending today's digests from the papers already stored" in r.output
    assert len(list((settings.data_dir / "outbox").glob("digest-*.eml"))) == 1
