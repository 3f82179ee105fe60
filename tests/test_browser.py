"""A real headless Chromium (Debian's, driven by Playwright): search and open a paper."""

import pytest

pytestmark = pytest.mark.browser


def test_search_gradient_inversion_and_open_first_result(chromium, live, tmp_path):
    page = chromium.new_page()
    page.goto(live.url + "/")
    # the home page is the demo's latest daily list (2026-08-21: 17 papers with their votes)
    assert page.get_by_role("heading", name="Friday, August 21, 2026").is_visible()
    assert page.locator("li.paper").count() == 17
    page.fill("input[name=q]", "gradient inversion")
    page.click("form.searchbox button")
    page.wait_for_url("**/search?q=gradient+inversion")
    first = page.locator("li.paper h2 a").first
    title = first.inner_text()
    assert "radient" in title
    first.click()
    page.wait_for_url("**/papers/*")
    assert page.locator("h1").inner_text() == title
    page.screenshot(path=str(tmp_path / "paper.png"), full_page=True)
    page.close()


def test_api_docs_render_with_the_network_cut(chromium, live):
    """Swagger UI comes from our own server: any request to another host is refused."""
    page = chromium.new_page()
    outside = []

    def only_loopback(route):
        if route.request.url.startswith(live.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(live.url + "/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/daily_papers", "/api/papers/search", "/feeds/search.atom"} <= {p.replace("\u200b", "") for p in paths}
    assert outside == []
    page.close()
