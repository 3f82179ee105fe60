"""What a browser gets besides the page: security headers, cookies, HEAD, the favicon, errors that
keep the search box, pagers that keep the mode, and a layout that holds long words on a phone."""

from __future__ import annotations

import re

import httpx
import pytest

from conftest import LiveServer, make_settings
from paperradar.radar import Radar
from paperradar.web.app import create_app


@pytest.mark.parametrize("path", ["/", "/subscribe", "/search?q=flows", "/papers/2608.13210", "/login"])
def test_security_headers_on_every_page(http, path):
    h = http.get(path).headers
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "same-origin"
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_cookies_are_secure_behind_https(tmp_path):
    radar = Radar(make_settings(tmp_path / "data", base_url="https://radar.example"))
    with LiveServer(create_app(radar.settings, radar)) as live:
        cookie = httpx.get(live.url + "/subscribe").headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    radar.close()


def test_head_of_the_home_page_and_a_favicon(http):
    assert http.head("/").status_code == 200
    icon = http.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_a_400_keeps_the_search_box(http):
    r = http.get("/search", params={"q": "flows from:2020-13-45"})
    assert r.status_code == 400
    assert 'value="flows from:2020-13-45"' in r.text


def test_search_pager_keeps_the_mode_and_says_previous_next(http):
    page = http.get("/search", params={"q": "learning", "mode": "lexical"}).text
    nxt = re.search(r'rel="next" href="([^"]+)"', page).group(1)
    assert "mode=lexical" in nxt and "Next →" in page and "Older" not in page


@pytest.mark.browser
def test_a_300_character_word_does_not_widen_the_page(chromium, live):
    page = chromium.new_page(viewport={"width": 390, "height": 800})
    page.goto(live.url + "/search?q=" + "x" * 300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()
