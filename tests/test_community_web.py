"""The daily lists, sign-in, submissions and votes through a real uvicorn, a real SMTP server and a
fake arXiv API on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from fakes.community import (community_site, csrf_of, fresh_entry, list_papers, request_link, sign_in,
                             sign_in_link, wait_for_mail)

DAY1, DAY3 = dt.date(2026, 8, 17), dt.date(2026, 8, 19)


@pytest.fixture
def site(tmp_path):
    with community_site(tmp_path) as s:
        url, radar, smtp, arxiv = s
        list_papers(radar, DAY1, [("Sparse mixtures of experts", 30), ("Tiny recurrent nets", 2)])
        list_papers(radar, DAY3, [("Diffusion for proteins", 5), ("Vision transformers revisited", 9)])
        yield s


@pytest.fixture
def client(site):
    with httpx.Client(base_url=site[0], timeout=10) as c:
        yield c


def titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/papers/[^"]+">([^<]+)</a></h2>', html)


def test_home_shows_the_latest_day_with_dates_authors_votes_and_links(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "Wednesday, August 19, 2026" in page.text
    assert titles(page.text) == ["Vision transformers revisited", "Diffusion for proteins"]
    assert "Ada Lovelace, Alan Turing" in page.text and 'class="count">9<' in page.text
    assert "listed <a href=\"/papers/date/2026-08-19\">" in page.text and "Code ★ 12" in page.text
    assert 'rel="prev" href="/papers/date/2026-08-17' in page.text  # 08-18 has no papers: skipped
    assert page.headers["x-content-type-options"] == "nosniff" and "frame-ancestors" in page.headers["content-security-policy"]


def test_week_month_and_sorts(client):
    week = client.get("/papers/week/2026-W34")
    assert titles(week.text)[0] == "Sparse mixtures of experts" and "4 papers" in week.text
    assert titles(client.get("/papers/month/2026-08", params={"sort": "new"}).text)[-1] in ("Sparse mixtures of experts", "Tiny recurrent nets")
    trending = client.get("/trending", params={"window": "week"})
    assert trending.status_code == 200 and titles(trending.text)[0] == "Vision transformers revisited"
    assert client.get("/papers/go", params={"date": "2026-08-17"}, follow_redirects=False).headers["location"] == "/papers/date/2026-08-17"


@pytest.mark.parametrize("path", ["/papers/date/2025-02-30", "/papers/week/2025-W54", "/papers/month/2025-13",
                                  "/papers/date/x", "/?sort=bogus", "/trending?window=year", "/papers/go?date=nope",
                                  "/api/daily_papers?week=2025-W54", "/api/daily_papers?date=2025-02-30",
                                  # the calendar's last year: no next week or month to link to
                                  "/papers/date/9999-12-31", "/papers/week/9999-W52", "/papers/month/9999-12",
                                  "/api/daily_papers?month=9999-12", "/feeds/daily.atom?date=9999-01-01"])
def test_bad_dates_and_sorts_are_400_with_a_message(client, path):
    r = client.get(path)
    assert r.status_code == 400, (path, r.status_code)
    assert any(why in r.text for why in ("must", "not a", "no ISO week", "unknown", "too far ahead"))


def test_sign_in_submit_vote_sign_out(site, client):
    url, radar, smtp, arxiv = site
    fresh_entry(arxiv, "2611.09999", "Radar charts for paper triage")
    sign_in(client, smtp, "ada@example.org", "ada")
    assert "@ada" in client.get("/").text
    r = client.post("/submit", data={"paper": "https://arxiv.org/abs/2611.09999v1", "csrf_token": csrf_of(client.get("/submit").text)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/papers/2611.09999"
    paper = client.get("/papers/2611.09999")
    assert "submitted by ada" in paper.text and 'class="count">1<' in paper.text  # the submitter's own vote
    today = client.get("/").text
    assert titles(today)[0] == "Radar charts for paper triage"
    # vote on an imported paper through the form (no JavaScript), then take it back through JSON
    token = csrf_of(today)
    r = client.post("/papers/2608.19001/vote", data={"value": "1", "next": "/papers/date/2026-08-19", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/papers/date/2026-08-19"
    assert radar.store.get_listing("2608.19001").points == 10
    r = client.post("/papers/2608.19001/vote", data={"value": "0", "csrf_token": token}, headers={"Accept": "application/json"})
    assert r.json() == {"id": "2608.19001", "votes": 9, "voted": False}
    r = client.post("/api/papers/2608.19001/vote", params={"value": 1}, headers={"X-CSRF-Token": token})
    assert r.json()["votes"] == 10
    client.post("/logout", data={"csrf_token": token})
    r = client.post("/papers/2608.19001/vote", data={"value": "1", "csrf_token": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.post("/api/papers/2608.19001/vote", headers={"X-CSRF-Token": token}).status_code == 401


def test_submission_refusals_store_nothing(site, client):
    url, radar, smtp, arxiv = site
    fresh_entry(arxiv, "2601.00001", "An old paper", age_days=40)
    sign_in(client, smtp, "bob@example.org", "bob")
    form = csrf_of(client.get("/submit").text)
    for ref, message in [("not an id", "is not an arXiv id"), ("2601.00001", "only papers at most 14 days old"),
                         ("2611.77777", "arXiv has no paper 2611.77777"), ("2608.17000", "already listed, on 2026-08-17")]:
        r = client.post("/submit", data={"paper": ref, "csrf_token": form})
        assert r.status_code == 400 and message in r.text, (ref, r.text[-500:])
    assert radar.store.get_paper("2601.00001") is None and radar.store.get_paper("2611.77777") is None
    r = client.post("/api/submit", json={"paper": "2601.00001"}, headers={"X-CSRF-Token": form})
    assert r.status_code == 400 and "days old" in r.json()["error"]


def test_daily_submission_limit(tmp_path):
    with community_site(tmp_path, submit_daily_limit=1) as (url, radar, smtp, arxiv), httpx.Client(base_url=url) as c:
        fresh_entry(arxiv, "2611.00001", "First")
        fresh_entry(arxiv, "2611.00002", "Second")
        sign_in(c, smtp, "cy@example.org", "cy")
        form = csrf_of(c.get("/submit").text)
        assert c.post("/submit", data={"paper": "2611.00001", "csrf_token": form}, follow_redirects=False).status_code == 303
        r = c.post("/submit", data={"paper": "2611.00002", "csrf_token": form})
        assert r.status_code == 400 and "submitted 1 papers today" in r.text


def test_sign_in_links_work_once_expire_and_cannot_be_forged(site, client):
    url, radar, smtp, arxiv = site
    request_link(client, "eve@example.org")
    link = sign_in_link(wait_for_mail(smtp, "eve@example.org")[-1])
    token = link.split("t=")[1]
    form = csrf_of(client.get(link).text)
    assert client.post("/login/verify", data={"t": token, "handle": "admin", "csrf_token": form}).status_code == 400  # reserved
    assert client.post("/login/verify", data={"t": token, "handle": "eve", "csrf_token": form}, follow_redirects=False).status_code == 303
    again = client.post("/login/verify", data={"t": token, "csrf_token": form})
    assert again.status_code == 400 and "used already" in again.text and "Ask for a new one" in again.text
    tampered = client.get("/login/verify", params={"t": token[:-3] + "abc"})
    assert tampered.status_code == 400 and "not valid" in tampered.text


def test_expired_link(tmp_path):
    with community_site(tmp_path, login_link_minutes=0.0001) as (url, radar, smtp, arxiv), httpx.Client(base_url=url) as c:
        request_link(c, "old@example.org")
        link = sign_in_link(wait_for_mail(smtp, "old@example.org")[-1])
        import time
        time.sleep(1.1)
        r = c.get(link)
        assert r.status_code == 400 and "expired" in r.text


def test_sign_in_answer_is_the_same_for_any_address_and_invite_only_mails_only_members(tmp_path):
    with community_site(tmp_path, signup="invite") as (url, radar, smtp, arxiv), httpx.Client(base_url=url) as c:
        radar.store.ensure_account("member@example.org")
        known = request_link(c, "member@example.org")
        unknown = request_link(c, "stranger@example.org")
        assert known.status_code == unknown.status_code == 200
        assert known.text.replace("member@", "X@") == unknown.text.replace("stranger@", "X@")
        wait_for_mail(smtp, "member@example.org")
        assert smtp.received("stranger@example.org") == [] and radar.store.get_account_by_email("stranger@example.org") is None


def test_sign_in_requests_are_rate_limited_per_address(site, client):
    url, radar, smtp, arxiv = site
    for _ in range(7):
        assert request_link(client, "flood@example.org").status_code == 200
    wait_for_mail(smtp, "flood@example.org", 5)
    import time
    time.sleep(0.3)
    assert len(smtp.received("flood@example.org")) == 5


def test_votes_for_hidden_or_unknown_papers_are_404_and_admins_hide(site, client):
    url, radar, smtp, arxiv = site
    radar.store.ensure_account("root@example.org", role="admin")
    sign_in(client, smtp, "root@example.org", "boss")
    token = csrf_of(client.get("/").text)
    assert client.post("/papers/nope/vote", data={"csrf_token": token}).status_code == 404
    r = client.post("/admin/papers/2608.19000/hide", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Diffusion for proteins" not in client.get("/").text
    assert client.post("/papers/2608.19000/vote", data={"csrf_token": token}).status_code == 404
    assert client.post("/api/papers/2608.19000/vote", headers={"X-CSRF-Token": token}).json()["status"] == 404


def test_forms_need_the_csrf_token(site, client):
    assert client.post("/login", data={"email": "a@example.org"}).status_code == 403
    assert client.post("/papers/2608.19001/vote", data={"value": "1"}).status_code == 403


def test_daily_papers_api_has_the_hugging_face_shape(client):
    items = client.get("/api/daily_papers", params={"date": "2026-08-17"}).json()
    assert [i["paper"]["upvotes"] for i in items] == [30, 2]
    first = items[0]
    assert first["paper"]["publishedAt"] == "2026-08-17T00:00:00.000Z" and first["numComments"] == 0
    assert first["paper"]["githubRepo"] == "https://github.com/ada/code" and first["listedOn"] == "2026-08-17"
    assert client.get("/api/daily_papers", params={"date": "2026-08-17", "p": 5}).json() == []
