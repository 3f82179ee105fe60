"""The HTML digest in a real headless Chromium: it renders, reads on a phone, and scripts stay text."""

from __future__ import annotations

import datetime as dt

import pytest

from fakes.digest_world import paper
from paperradar.digest.links import Links
from paperradar.digest.render import DigestItem, DigestRenderer
from paperradar.store import Subscriber
from paperradar.tokens import TokenSigner

pytestmark = pytest.mark.browser


def digest_html(tmp_path):
    renderer = DigestRenderer(Links(TokenSigner(["k"]), "https://radar.test"), mail_from="radar@radar.test")
    items = [
        DigestItem(paper("2401.00001", "Gradient inversion attacks reconstruct training images from shared gradients",
                         "We show that an honest-but-curious server can recover private images. " * 4,
                         authors=[f"Author {i}" for i in range(9)], categories=["cs.LG", "cs.CR"]),
                   ["matches your topic: gradient inversion", "in your category cs.CR"]),
        DigestItem(paper("2401.00002", "<script>document.title='pwned'</script> A hostile title",
                         "<img src=x onerror=\"document.title='pwned'\"> &lt;b&gt;", categories=["cs.CR"]),
                   ["by Mallory"]),
    ]
    sub = Subscriber(id=1, email="reader@example.com", topics=["gradient inversion"])
    path = tmp_path / "digest.html"
    path.write_text(renderer.html(sub, dt.date(2024, 3, 11), items), encoding="utf-8")
    return path


def test_digest_renders_in_chromium(chromium, tmp_path):
    path = digest_html(tmp_path)
    page = chromium.new_page(viewport={"width": 1024, "height": 800})
    page.goto(path.as_uri())
    assert page.title() == "2 new papers for you: Gradient inversion attacks reconstruct training images from shared gradients"
    assert page.get_by_role("heading", name="2 new papers for you").is_visible()
    link = page.get_by_role("link", name="Gradient inversion attacks reconstruct training images from shared gradients")
    assert link.is_visible() and link.get_attribute("href") == "https://arxiv.org/abs/2401.00001"
    assert page.get_by_text("matches your topic: gradient inversion · in your category cs.CR").is_visible()
    assert page.get_by_role("link", name="Unsubscribe").is_visible()
    assert page.get_by_role("link", name="▲ More like this").count() == 2
    # the hostile paper is shown as text and ran nothing
    assert page.get_by_role("link", name="<script>document.title='pwned'</script> A hostile title").is_visible()
    assert "pwned" not in page.title()
    assert page.locator("img").count() == 0
    card = page.locator("table table").first.bounding_box()
    assert 600 <= card["width"] <= 642  # the 640px card, centred
    shot = tmp_path / "digest.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    page.close()


def test_digest_fits_a_phone_screen(chromium, tmp_path):
    page = chromium.new_page(viewport={"width": 375, "height": 700})
    page.goto(digest_html(tmp_path).as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(tmp_path / "digest-phone.png"), full_page=True)
    page.close()
