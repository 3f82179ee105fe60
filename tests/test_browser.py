"""A real headless Chromium (Debian's, driven by Playwright): search and open a paper."""

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_search_gradient_inversion_and_open_first_result(browser, live, tmp_path):
    page = browser.new_page()
    page.goto(live.url + "/")
    assert page.locator("li.paper").count() == 20
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
