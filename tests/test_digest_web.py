"""Subscribing and managing through the real web app (uvicorn on 127.0.0.1) with a real SMTP server."""

from __future__ import annotations

import re
import time
from html import unescape

import httpx
import pytest

from conftest import LiveServer
from fakes.community import csrf_of, wait_for_mail
from fakes.digest_world import GRADIENT, add_papers, service, settings_for, subscribe
from fakes.smtp_server import FakeSMTP
from paperradar.radar import Radar
from paperradar.tokens import MAX_AGE, TokenSigner
from paperradar.web.app import create_app


@pytest.fixture
def site(tmp_path):
    """(base url, radar, smtp) for a fresh data dir served by uvicorn, mail going to FakeSMTP."""
    with FakeSMTP() as smtp:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url)
        radar = Radar(settings)
        with LiveServer(create_app(settings, radar)) as server:
            settings.base_url = server.url  # links in emails point at this server
            yield server.url, radar, smtp
        radar.close()


@pytest.fixture
def browser(site):
    with httpx.Client(base_url=site[0], timeout=10) as client:
        yield client


def link_in(mail, path: str) -> str:
    text = mail.message.get_body(("plain",)).get_content()
    return re.search(rf"(http://127\.0\.0\.1:\d+{path}\?t=[\w.\-]+(?:&v=-?1)?)", text).group(1)


def post_subscribe(client, email, topics="gradient inversion", **extra):
    token = csrf_of(client.get("/subscribe").text)
    return client.post("/subscribe", data={"email": email, "topics": topics, "csrf_token": token, **extra})


def test_double_opt_in_confirms_only_by_post(site, browser):
    url, radar, smtp = site
    r = post_subscribe(browser, "New.Reader@Example.com", "gradient inversion\ndiffusion models", categories="cs.LG cs.CR")
    assert r.status_code == 200 and "Check your inbox" in r.text
    sub = radar.store.get_subscriber_by_email("new.reader@example.com")
    assert sub.status == "pending" and sub.topics == ["gradient inversion", "diffusion models"]
    assert sub.categories == ["cs.LG", "cs.CR"]

    [mail] = wait_for_mail(smtp, "new.reader@example.com")
    assert mail.message["Subject"] == "Confirm your paperradar digest"
    confirm = link_in(mail, "/confirm")
    page = browser.get(confirm)  # what a link scanner does: it must not confirm anyone
    assert page.status_code == 200 and 'action="/confirm"' in page.text
    assert radar.store.get_subscriber(sub.id).status == "pending"

    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
    done = browser.post("/confirm", data={"t": unescape(token), "csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert radar.store.get_subscriber(sub.id).status == "active"


def test_subscribe_answers_are_identical_for_new_existing_and_limited_addresses(site, browser):
    url, radar, smtp = site
    subscribe(radar.store, "old@example.com", ["gradient inversion"])
    browser.get("/subscribe")  # the browser has its CSRF cookie from here on
    new = post_subscribe(browser, "fresh@example.com")
    existing = post_subscribe(browser, "old@example.com")
    again = [post_subscribe(browser, "old@example.com") for _ in range(3)]  # the 4th+ are rate-limited
    bodies = {r.content for r in [new, existing, *again]}
    assert len(bodies) == 1
    assert {r.status_code for r in [new, existing, *again]} == {200}
    assert {tuple(sorted((k, v) for k, v in r.headers.items() if k != "date")) for r in [new, existing, *again]} \
        .__len__() == 1

    [confirmation] = wait_for_mail(smtp, "fresh@example.com")
    assert "Confirm" in confirmation.message["Subject"]
    notices = wait_for_mail(smtp, "old@example.com", count=3)
    time.sleep(0.3)
    assert len(smtp.received("old@example.com")) == 3  # the per-address limit stops the rest
    assert notices[0].message["Subject"] == "You are already subscribed to paperradar"
    assert radar.store.get_subscriber_by_email("old@example.com").topics == ["gradient inversion"]


def test_honeypot_csrf_validation_and_ip_rate_limit(site, browser):
    url, radar, smtp = site
    bot = post_subscribe(browser, "bot@example.com", website="http://spam.example")
    assert bot.status_code == 200 and "Check your inbox" in bot.text
    assert radar.store.get_subscriber_by_email("bot@example.com") is None

    forged = httpx.post(f"{url}/subscribe", data={"email": "x@example.com", "topics": "t"})
    assert forged.status_code == 403 and radar.store.get_subscriber_by_email("x@example.com") is None

    bad = post_subscribe(browser, "not-an-address")
    assert bad.status_code == 400 and "not a valid email address" in bad.text
    empty = post_subscribe(browser, "ok@example.com", topics="")
    assert empty.status_code == 400 and "at least one topic" in empty.text

    codes = [post_subscribe(browser, f"r{i}@example.com").status_code for i in range(10)]
    assert codes[-1] == 429 and codes.count(429) == 2  # 10 per hour per IP; the two invalid posts counted
    time.sleep(0.2)
    assert smtp.received("bot@example.com") == []


def test_footer_form_is_on_every_page(site, browser):
    home = browser.get("/").text
    assert 'class="footer-subscribe"' in home and 'name="website"' in home and 'name="csrf_token"' in home


def digest_for(radar, smtp, email="alice@example.com"):
    add_papers(radar.store, "2401", GRADIENT)
    sub = subscribe(radar.store, email, ["gradient inversion"])
    service(radar.settings, radar.store).run()
    [mail] = smtp.received(email)
    return sub, mail


def test_one_click_unsubscribe_needs_no_cookie_and_a_get_does_nothing(site):
    url, radar, smtp = site
    sub, mail = digest_for(radar, smtp)
    target = mail.message["List-Unsubscribe"].strip("<>")
    assert target.startswith(url)

    scanner = httpx.get(target)  # a link scanner, a prefetcher, a curious click
    assert scanner.status_code == 200 and "Unsubscribe?" in scanner.text
    assert radar.store.get_subscriber(sub.id).status == "active"

    # what a mail provider sends for RFC 8058: a bare POST, no cookies, no CSRF token
    r = httpx.post(target, content=b"List-Unsubscribe=One-Click",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert radar.store.get_subscriber(sub.id).status == "unsubscribed"
    assert httpx.post(target, content=b"List-Unsubscribe=One-Click",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 200


def test_forged_expired_and_wrong_purpose_tokens_are_rejected(site):
    url, radar, smtp = site
    sub, mail = digest_for(radar, smtp)
    secret = radar.settings.secret_key(radar.store)
    payload = {"s": sub.id, "e": sub.email}
    forged = TokenSigner(["not-our-secret"]).sign("unsubscribe", payload)
    expired = TokenSigner([secret], clock=lambda: time.time() - MAX_AGE["unsubscribe"] - 60).sign("unsubscribe", payload)
    wrong = TokenSigner([secret]).sign("feedback", {**payload, "p": "2401.00000"})
    for token, message in ((forged, "not valid"), (expired, "expired"), (wrong, "not valid"), ("", "not valid")):
        r = httpx.post(f"{url}/unsubscribe", params={"t": token}, content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 400 and message in r.text
        assert httpx.get(f"{url}/unsubscribe", params={"t": token}).status_code == 400
    confirm_token = TokenSigner([secret]).sign("confirm", payload)
    assert httpx.get(f"{url}/preferences", params={"t": confirm_token}).status_code == 400
    assert radar.store.get_subscriber(sub.id).status == "active"


def test_preferences_edit_interests_frequency_and_pause(site, browser):
    url, radar, smtp = site
    sub, mail = digest_for(radar, smtp)
    manage = link_in(mail, "/preferences")
    page = browser.get(manage)
    assert page.status_code == 200 and "gradient inversion" in page.text
    token = unescape(re.search(r'name="t" value="([^"]+)"', page.text).group(1))
    r = browser.post("/preferences", data={
        "t": token, "csrf_token": csrf_of(page.text), "topics": "membership inference\nmodel stealing",
        "categories": "cs.CR", "authors": "", "frequency": "weekly", "paused": "1"})
    assert r.status_code == 200 and "Saved." in r.text
    sub = radar.store.get_subscriber(sub.id)
    assert (sub.topics, sub.categories, sub.frequency, sub.status) == (
        ["membership inference", "model stealing"], ["cs.CR"], "weekly", "paused")
    bad = browser.post("/preferences", data={"t": token, "csrf_token": csrf_of(page.text), "categories": "not a category!"})
    assert bad.status_code == 400 and radar.store.get_subscriber(sub.id).topics == sub.topics


def test_feedback_link_shows_a_page_and_only_the_post_records(site, browser):
    url, radar, smtp = site
    sub, mail = digest_for(radar, smtp)
    less = link_in(mail, "/feedback").replace("&v=1", "&v=-1")
    page = browser.get(less)
    assert page.status_code == 200 and "Less like this?" in page.text
    assert radar.store.feedback_for([sub.id]) == {}
    token = unescape(re.search(r'name="t" value="([^"]+)"', page.text).group(1))
    r = browser.post("/feedback", data={"t": token, "v": "-1", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "fewer papers like" in r.text
    [(paper_id, value)] = radar.store.feedback_for([sub.id])[sub.id]
    assert value == -1 and paper_id.startswith("2401.")
    assert browser.get(less.replace("&v=-1", "&v=7")).status_code == 400
