"""The community flow in a real headless Chromium: sign in through the emailed link, submit a paper
from the fake arXiv API, upvote it without a reload, see the count on the daily and trending pages,
sign out, and find the vote button asks to sign in. Pages fit a phone, light and dark."""

from __future__ import annotations

import datetime as dt

import pytest

from fakes.community import community_site, fresh_entry, list_papers, sign_in_link, wait_for_mail

pytestmark = pytest.mark.browser


@pytest.fixture
def site(tmp_path):
    with community_site(tmp_path) as s:
        list_papers(s[1], dt.date(2026, 8, 19), [("Diffusion for proteins", 5), ("Vision transformers revisited", 9)])
        yield s


def test_sign_in_submit_upvote_sign_out(chromium, site, tmp_path):
    url, radar, smtp, arxiv = site
    fresh_entry(arxiv, "2611.04242", "Radar charts for paper triage")
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/")
    page.get_by_role("link", name="Sign in").click()
    page.locator("main #email").fill("ada@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    assert page.get_by_role("heading", name="Check your email").is_visible()

    page.goto(sign_in_link(wait_for_mail(smtp, "ada@example.org")[-1]))
    page.get_by_label("Choose your handle").fill("ada")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("@ada").is_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Submit").click()
    page.get_by_label("arXiv id or URL").fill("2611.04242")
    page.get_by_role("button", name="Submit").click()
    assert page.get_by_role("heading", name="Radar charts for paper triage").is_visible()
    assert page.get_by_text("submitted by ada").is_visible()

    page.goto(url + "/papers/date/2026-08-19")
    card = page.locator("li.paper", has_text="Diffusion for proteins")
    assert card.locator(".count").inner_text() == "5"
    card.get_by_role("button", name="Upvote").click()
    card.locator("button.voted").wait_for()  # a locator, not wait_for_function: our CSP forbids eval
    assert card.locator(".count").inner_text() == "6"
    assert page.url.endswith("/papers/date/2026-08-19")  # no reload, no redirect: updated in place
    page.reload()
    assert page.locator("li.paper", has_text="Diffusion for proteins").locator(".count").inner_text() == "6"

    page.goto(url + "/papers/date/2026-08-19?sort=trending")
    assert page.locator("li.paper h2").first.inner_text() == "Vision transformers revisited"  # 9 beats 6
    assert page.locator("li.paper", has_text="Diffusion for proteins").locator(".count").inner_text() == "6"
    page.goto(url + "/trending?window=day")  # today's list: the submitted paper, with its submitter's vote
    assert page.locator("li.paper", has_text="Radar charts for paper triage").locator(".count").inner_text() == "1"
    page.screenshot(path=str(tmp_path / "trending.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.goto(url + "/papers/date/2026-08-19")
    page.locator("li.paper", has_text="Vision transformers revisited").get_by_role("button", name="Upvote").click()
    page.wait_for_url("**/login**")
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert radar.store.get_listing("2608.19001").points == 9  # the signed-out click changed nothing
    page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_daily_page_fits_a_phone_in_light_and_dark(chromium, site, tmp_path, scheme):
    url = site[0]
    page = chromium.new_page(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    page.goto(url + "/papers/date/2026-08-19")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(18, 21, 27)") == (scheme == "dark")
    assert page.locator("li.paper").count() == 2 and page.get_by_role("link", name="Code ★ 12").count() == 2
    page.screenshot(path=str(tmp_path / f"daily-{scheme}-390.png"), full_page=True)
    page.close()
