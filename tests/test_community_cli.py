"""`daily`, `trending`, `submit`, `vote`, `users` and trending digests from the command line, on real
data dirs (the demo's real daily lists, a fake arXiv API on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from typer.testing import CliRunner

from fakes.community import fresh_entry
from fakes.digest_world import service, settings_for
from fakes.oai_server import FakeArxiv
from paperradar.cli import app
from paperradar.radar import Radar

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """A data dir holding the demo corpus (no index: listing commands need none)."""
    path = tmp_path_factory.mktemp("demo")
    r = Radar(settings_for(path))
    r.load_demo_if_empty()
    r.close()
    return path


@pytest.fixture
def data(demo_dir, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(demo_dir, copy)
    return copy


def test_daily_json_lists_a_real_day_with_its_upvotes(data):
    out = run("-d", data, "daily", "--date", "2026-08-21", "--json")
    assert out.exit_code == 0, out.output
    items = json.loads(out.stdout)
    assert len(items) == 17 and {i["listedOn"] for i in items} == {"2026-08-21"}
    upvotes = [i["paper"]["upvotes"] for i in items]
    assert upvotes == sorted(upvotes, reverse=True) and upvotes[0] > 0
    assert all(i["importedUpvotes"] == i["paper"]["upvotes"] and i["votes"] == 0 for i in items)
    human = run("-d", data, "daily", "--week", "2026-W34", "--sort", "new", "-n", "5")
    assert human.exit_code == 0 and "5 of" in human.stdout


@pytest.mark.parametrize("args, message", [
    (["daily", "--week", "2025-W54"], "2025 has no ISO week 54"),
    (["daily", "--month", "2025-13"], "months 01-12"),
    (["daily", "--date", "2025-02-30"], "not a date on the calendar"),
    (["daily", "--date", "2026-08-21", "--month", "2026-08"], "give one of"),
    (["daily", "--sort", "hot"], "sort must be one of votes, trending, new"),
    (["trending", "--window", "year"], "window must be one of day, week, month"),
    (["vote", "2608.99999", "--as", "nobody@example.org"], "no account for nobody@example.org"),
])
def test_bad_input_is_one_line_and_exit_1(data, args, message):
    out = run("-d", data, *args)
    assert out.exit_code == 1 and message in out.output and "Traceback" not in out.output


def test_trending_json_has_scores_in_order(data):
    items = json.loads(run("-d", data, "trending", "--window", "week", "--json").stdout)
    scores = [i["trendingScore"] for i in items]
    assert len(items) == 20 and scores == sorted(scores, reverse=True)


def test_users_vote_and_ban(data):
    assert run("-d", data, "users", "add", "ada@example.org", "--admin").exit_code == 0
    run("-d", data, "users", "add", "spam@example.org")
    day = json.loads(run("-d", data, "daily", "--date", "2026-08-21", "--json").stdout)
    pid, before = day[-1]["paper"]["id"], day[-1]["paper"]["upvotes"]
    for who in ("ada@example.org", "spam@example.org", "spam@example.org"):
        out = run("-d", data, "vote", pid, "--as", who)
        assert out.exit_code == 0, out.output
    assert f"{before + 2} votes" in out.stdout
    users = json.loads(run("-d", data, "users", "list", "--json").stdout)
    assert [(u["email"], u["role"]) for u in users] == [("ada@example.org", "admin"), ("spam@example.org", "member")]
    banned = run("-d", data, "users", "ban", "spam@example.org")
    assert "banned, 1 votes removed" in banned.stdout
    after = json.loads(run("-d", data, "daily", "--date", "2026-08-21", "--json").stdout)
    assert {i["paper"]["id"]: i["paper"]["upvotes"] for i in after}[pid] == before + 1
    assert "is banned" in run("-d", data, "vote", pid, "--as", "spam@example.org").output
    assert run("-d", data, "users", "remove", "ada@example.org").exit_code == 0


def test_submit_as_a_member_fetches_from_arxiv(data):
    with FakeArxiv() as fake:
        fresh_entry(fake, "2611.01234", "Submitted from the command line")
        env = {"PAPERRADAR_ARXIV_API_ENDPOINT": fake.api_url}
        run("-d", data, "users", "add", "ada@example.org")
        out = run("-d", data, "submit", "2611.01234", "--as", "ada@example.org", env=env)
        assert out.exit_code == 0, out.output
        again = run("-d", data, "submit", "2611.01234", "--as", "ada@example.org", env=env)
        assert again.exit_code == 1 and "already listed" in again.output
    today = json.loads(run("-d", data, "daily", "--json").stdout)
    assert today[0]["paper"]["id"] == "2611.01234"
    assert today[0]["listedOn"] == dt.date.today().isoformat() and today[0]["votes"] == 1


def test_a_trending_digest_needs_no_interests(data):
    r = Radar(settings_for(data))
    try:  # subscribed the day before the digest, so its window holds 08-20 and 08-21's lists
        r.store.add_subscriber("fan@example.org", status="active", content="trending", now=dt.datetime(2026, 8, 20, 23, 0))
        svc = service(r.settings, r.store, clock=lambda: dt.datetime(2026, 8, 21, 23, 0))
        report = svc.run(dt.date(2026, 8, 21))
        [row] = r.store.outbox_for_date(dt.date(2026, 8, 21))
    finally:
        r.close()
    assert report.states == {"sent": 1} and len(row.items) == 10
    assert all(item["reasons"][0].startswith("trending: ") for item in row.items)
    mails = sorted((data / "outbox").glob("*.eml"))
    assert len(mails) == 1 and "trending: " in mails[0].read_text()
    refused = run("-d", data, "subscribers", "set", "fan@example.org", "--content", "interests")
    assert refused.exit_code == 1 and "no interests to match" in refused.output
    assert run("-d", data, "subscribers", "set", "fan@example.org", "--content", "trending").exit_code == 0
