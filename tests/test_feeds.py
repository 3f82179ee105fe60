"""Atom feeds read by a real feed parser, conditional GETs, and the public API's manners (CORS,
rate limit, HEAD, bounded parameters), through a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import feedparser
import httpx
import pytest

from conftest import LiveServer, make_settings
from paperradar.radar import Radar
from paperradar.web.app import create_app


def parsed(http, path, **params):
    r = http.get(path, params=params)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    return r, feed


def test_daily_feed_is_valid_atom_with_the_day_s_papers(http, live):
    r, feed = parsed(http, "/feeds/daily.atom", date="2026-08-21")
    assert len(feed.entries) == 17 and feed.feed.title == "paperradar: papers of Friday, August 21, 2026"
    e = feed.entries[0]
    assert e.id.startswith("http://127.0.0.1:8000/papers/") and e.link == e.id  # absolute, from the public URL
    assert e.updated_parsed and e.published_parsed and e.authors and e.summary and e.summary_detail.type == "text/plain"
    assert any(link.get("title") == "PDF" for link in e.links)
    assert {link.rel for link in feed.feed.links} == {"self", "alternate"}


def test_search_feed_is_a_saved_search(http):
    r, feed = parsed(http, "/feeds/search.atom", q="diffusion")
    assert 0 < len(feed.entries) <= 50
    assert all("iffusion" in (e.title + e.summary) for e in feed.entries[:10])
    dates = [e.published_parsed for e in feed.entries if "published_parsed" in e]
    assert dates == sorted(dates, reverse=True)  # newest first


def test_trending_author_and_category_feeds(http):
    _, trending = parsed(http, "/feeds/trending.atom", window="month")
    assert len(trending.entries) == 50
    _, author = parsed(http, "/feeds/author/Yuheng Huang.atom")
    assert [e.title for e in author.entries][0].startswith("NARU")
    _, category = parsed(http, "/feeds/category/cs.LG.atom")
    assert category.feed.title == "paperradar: cs.LG"  # the demo's papers carry no categories


def test_conditional_get_answers_304(http):
    first = http.get("/feeds/daily.atom")
    assert http.get("/feeds/daily.atom", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert http.get("/feeds/daily.atom", headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
    assert http.get("/feeds/daily.atom", headers={"If-None-Match": '"stale"'}).status_code == 200


@pytest.mark.parametrize("path, status", [
    ("/feeds/nonsense.atom", 404), ("/feeds/search.atom", 400), ("/feeds/trending.atom?window=year", 400),
    ("/feeds/daily.atom?date=2025-02-30", 400),
    ("/api/daily_papers?limit=0", 400), ("/api/daily_papers?limit=abc", 400), ("/api/daily_papers?p=-1", 400),
    ("/api/daily_papers?week=2025-W54", 400), ("/api/daily_papers?date=2025-02-30", 400),
    ("/api/daily_papers?sort=bogus", 400), ("/api/papers/search?q=" + "x" * 2_000, 400),
    ("/api/papers/search?limit=1000", 400), ("/api/papers/1234.56789", 404),
])
def test_bad_parameters_are_4xx_with_a_message(http, path, status):
    r = http.get(path)
    assert r.status_code == status, (path, r.status_code)
    if path.startswith("/api/"):
        assert set(r.json()) == {"error", "status"} and r.json()["status"] == status


def test_head_is_answered_wherever_get_is(http):
    for path in ("/", "/api/daily_papers", "/feeds/daily.atom", "/papers/2608.13210.md", "/docs"):
        get, head = http.get(path), http.head(path)
        assert head.status_code == get.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]


def test_cors_on_api_reads(http):
    r = http.get("/api/daily_papers", headers={"Origin": "https://tool.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    pre = http.options("/api/daily_papers", headers={"Origin": "https://tool.example", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 204 and "GET" in pre.headers["access-control-allow-methods"]
    assert "access-control-allow-origin" not in http.get("/", headers={"Origin": "https://tool.example"}).headers


def test_api_rate_limit_answers_429_with_retry_after(tmp_path):
    radar = Radar(make_settings(tmp_path / "data", api_rate_limit=3, api_rate_window_s=60))
    with LiveServer(create_app(radar.settings, radar)) as live, httpx.Client(base_url=live.url) as c:
        codes = [c.get("/api/papers/search").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = c.get("/api/daily_papers")
        assert r.headers["retry-after"] == "60" and "too many API requests" in r.json()["error"]
        assert c.get("/").status_code == 200  # pages are not the API
    radar.close()
