"""The Hugging Face-compatible API through the real `huggingface_hub` client (and its `hf papers`
CLI) against a real uvicorn serving the demo corpus: the client is the oracle."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from conftest import LiveServer, make_settings
from paperradar.models import Paper
from paperradar.radar import Radar
from paperradar.sources.hf_daily import parse_daily_papers
from paperradar.web.app import create_app

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo corpus plus one paper a member ("ada") submitted today."""
    radar = Radar(make_settings(tmp_path_factory.mktemp("hf") / "data"))
    radar.load_demo_if_empty()
    radar.store.upsert_papers([Paper(id="2611.00042", arxiv_id="2611.00042", title="A paper Ada submitted",
                                     abstract="Submitted today.", authors=["Ada Lovelace"], published=TODAY)])
    ada, _ = radar.store.ensure_account("ada@example.org")
    radar.store.set_handle(ada.id, "ada")
    radar.store.submit_listing("2611.00042", day=TODAY, account_id=ada.id)
    radar.sync_indexes()
    with LiveServer(create_app(radar.settings, radar)) as live:
        yield live
    radar.close()


@pytest.fixture
def api(server):
    return HfApi(endpoint=server.url)


def test_list_daily_papers_by_date_with_upvotes_and_links(api):
    papers = list(api.list_daily_papers(date="2026-08-21"))
    assert len(papers) == 17
    first = papers[0]
    assert first.id and first.title and first.authors[0].name
    assert first.upvotes == max(p.upvotes or 0 for p in papers) > 0
    assert first.submitted_at == dt.datetime(2026, 8, 21, tzinfo=dt.timezone.utc)
    assert first.published_at.tzinfo is not None and first.published_at.date() <= dt.date(2026, 8, 21)
    assert isinstance(first.comments, int)
    assert any(p.github_repo for p in papers)
    assert [p.upvotes or 0 for p in papers] == sorted((p.upvotes or 0 for p in papers), reverse=True)


def test_week_month_trending_and_paging(api, server):
    week = list(api.list_daily_papers(week="2026-W34", limit=100))
    assert week and all(dt.date(2026, 8, 17) <= p.submitted_at.date() <= dt.date(2026, 8, 23) for p in week)
    month = list(api.list_daily_papers(month="2026-08", limit=100))
    assert len(month) == 100 and all(p.submitted_at.month == 8 for p in month)
    trending = list(api.list_daily_papers(week="2026-W34", sort="trending", limit=5))
    assert len(trending) == 5 and trending[0].trendingScore >= trending[-1].trendingScore
    newest = list(api.list_daily_papers(month="2026-08", sort="publishedAt", limit=3))
    assert newest[0].submitted_at >= newest[-1].submitted_at
    page0 = list(api.list_daily_papers(month="2026-08", limit=10, p=0))
    page1 = list(api.list_daily_papers(month="2026-08", limit=10, p=1))
    assert len(page0) == len(page1) == 10 and not {p.id for p in page0} & {p.id for p in page1}
    assert list(api.list_daily_papers(date="2026-08-21", p=100)) == []
    r = httpx.get(server.url + "/api/daily_papers", params={"month": "2026-08", "limit": 10})
    assert r.headers["link"] == '</api/daily_papers?month=2026-08&limit=10&p=1>; rel="next"'


def test_submitter_filter(api):
    [paper] = list(api.list_daily_papers(submitter="ada"))
    assert paper.id == "2611.00042" and paper.submitted_by.username == "ada" and paper.upvotes == 0
    assert list(api.list_daily_papers(submitter="nobody")) == []


def test_bad_dates_are_400(api):
    for kwargs in ({"date": "2025-02-30"}, {"week": "2025-W54"}, {"month": "2025-13"}):
        with pytest.raises(HfHubHTTPError) as e:
            list(api.list_daily_papers(**kwargs))
        assert e.value.response.status_code == 400


def test_list_papers_with_and_without_a_query(api):
    found = list(api.list_papers(query="gradient inversion", limit=5))
    assert len(found) == 5 and any("radient" in p.title for p in found)
    assert all(p.published_at is None or p.published_at.tzinfo for p in found)
    newest = list(api.list_papers(limit=3))
    assert len(newest) == 3 and all(p.title for p in newest)


def test_paper_info_and_read_paper(api):
    info = api.paper_info("2608.13210")
    assert info.title.startswith("NARU") and info.authors[0].name == "Yuheng Huang"
    assert info.published_at == dt.datetime(2026, 8, 13, tzinfo=dt.timezone.utc)
    assert info.submitted_at == dt.datetime(2026, 8, 21, tzinfo=dt.timezone.utc)
    assert isinstance(info.comments, int) and info.upvotes > 0
    with pytest.raises(HfHubHTTPError) as e:
        api.paper_info("1234.56789")
    assert e.value.response.status_code == 404
    text = api.read_paper("2608.13210")
    assert text.startswith("# NARU") and "## Abstract" in text and "https://arxiv.org/abs/2608.13210" in text


def test_our_daily_json_parses_back_into_the_same_papers(server):
    """The oracle in the other direction: our own HF importer reads what we serve."""
    body = httpx.get(server.url + "/api/daily_papers", params={"date": "2026-08-21"}).content
    papers = parse_daily_papers(body, "served")
    served = {p.id: p for p in papers}
    assert len(served) == 17
    for p in papers:
        assert p.listing.day == dt.date(2026, 8, 21) and p.listing.upvotes >= 0 and p.title


def run_hf(server, *args) -> subprocess.CompletedProcess:
    hf = Path(sys.executable).parent / "hf"
    env = {**os.environ, "HF_ENDPOINT": server.url, "HF_HUB_DISABLE_TELEMETRY": "1", "NO_COLOR": "1"}
    return subprocess.run([str(hf), "papers", *args], env=env, capture_output=True, text=True, timeout=60)


def test_hf_papers_cli(server):
    ls = run_hf(server, "ls", "--date", "2026-08-21", "--format", "json")
    assert ls.returncode == 0, ls.stderr
    items = json.loads(ls.stdout)
    assert len(items) == 17 and items[0]["upvotes"] > 0
    search = run_hf(server, "search", "gradient inversion", "--limit", "3", "--format", "json")
    assert search.returncode == 0 and len(json.loads(search.stdout)) == 3
    info = run_hf(server, "info", "2608.13210", "--format", "json")
    assert info.returncode == 0 and json.loads(info.stdout)["title"].startswith("NARU")
    read = run_hf(server, "read", "2608.13210")
    assert read.returncode == 0 and read.stdout.startswith("# NARU")
