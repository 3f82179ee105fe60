"""What a web process keeps between requests (web/page_cache.py) and the API's batched rate limit
(web/api_limit.py): kept pages never hide a change or leak one visitor's state to another."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import datetime as dt
import re
import time

import httpx
import pytest

from fakes.community import community_site, csrf_of, list_papers, sign_in
from paperradar.models import Paper
from paperradar.store import Store
from paperradar.web.api_limit import ApiLimiter
from paperradar.web.page_cache import TOKEN_PLACEHOLDER

DAY = dt.date(2026, 8, 19)


@pytest.fixture
def site(tmp_path):
    with community_site(tmp_path) as s:
        list_papers(s[1], DAY, [("Diffusion for proteins", 5), ("Vision transformers revisited", 9)])
        yield s


def count_of(html: str, paper_id: str) -> int:
    form = html.split(f'action="/papers/{paper_id}/vote"', 1)[1]
    return int(re.search(r'class="count">(\d+)<', form).group(1))


def voted_on(html: str, paper_id: str) -> bool:
    form = html.split(f'action="/papers/{paper_id}/vote"', 1)[1].split("</form>", 1)[0]
    return 'class="voted"' in form


def test_a_vote_shows_on_the_next_load_for_the_voter_and_everyone_else(site):
    url, radar, smtp, _ = site
    pid = "2608.19000"
    with httpx.Client(base_url=url) as ada, httpx.Client(base_url=url) as anon, httpx.Client(base_url=url) as bob:
        for _ in range(2):  # the second load is the kept one
            assert count_of(anon.get("/").text, pid) == 5 and count_of(anon.get(f"/papers/{pid}").text, pid) == 5
        sign_in(ada, smtp, "ada@example.org", "ada")
        sign_in(bob, smtp, "bob@example.org", "bob")
        home = ada.get("/").text
        r = ada.post(f"/papers/{pid}/vote", data={"value": "1", "next": "/", "csrf_token": csrf_of(home)},
                     follow_redirects=True)
        assert count_of(r.text, pid) == 6 and voted_on(r.text, pid)  # the voter's redirect
        for client in (anon, bob):
            assert count_of(client.get("/").text, pid) == 6
            paper = client.get(f"/papers/{pid}").text
            assert count_of(paper, pid) == 6 and not voted_on(paper, pid)
        assert count_of(anon.get("/papers/date/2026-08-19").text, pid) == 6
        assert count_of(anon.get("/trending", params={"window": "week"}).text, pid) == 6

        # a vote committed by another process (its own store on the same database)
        other = Store(radar.settings.db_url, migrate_schema=False)
        try:
            carol, _ = other.ensure_account("carol@example.org")
            other.set_vote(carol.id, pid, True)
            assert count_of(anon.get("/").text, pid) == 7 and count_of(ada.get(f"/papers/{pid}").text, pid) == 7
            other.set_vote(carol.id, pid, False)
            other.hide_listing("2608.19001")
        finally:
            other.close()
        home = anon.get("/").text
        assert count_of(home, pid) == 6 and "Vision transformers revisited" not in home


def test_kept_pages_carry_each_browsers_own_csrf_token_and_no_members_state(site):
    url, radar, smtp, _ = site
    pid = "2608.19000"
    with httpx.Client(base_url=url) as ada:
        sign_in(ada, smtp, "ada@example.org", "ada")
        ada.post(f"/papers/{pid}/vote", data={"value": "1", "next": "/", "csrf_token": csrf_of(ada.get("/").text)})
        assert "@ada" in ada.get("/").text and voted_on(ada.get("/").text, pid)
    tokens = []
    for path in ("/", "/", f"/papers/{pid}", f"/papers/{pid}"):
        with httpx.Client(base_url=url) as anon:  # a new browser each time: no cookie yet
            page = anon.get(path)
            assert TOKEN_PLACEHOLDER not in page.text and "@ada" not in page.text and not voted_on(page.text, pid)
            token = csrf_of(page.text)
            assert page.text.count(token) == page.text.count('name="csrf_token"')
            tokens.append(token)
            # the token is this browser's: its form passes the CSRF check (to the sign-in page)
            r = anon.post(f"/papers/{pid}/vote", data={"value": "1", "csrf_token": token}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login")
            with httpx.Client(base_url=url) as stranger:  # and nobody else's
                stranger.get("/")
                assert stranger.post(f"/papers/{pid}/vote", data={"value": "1", "csrf_token": token}).status_code == 403
    assert len(set(tokens)) == len(tokens)


def test_a_paper_page_finds_new_neighbours_once_they_are_embedded(tmp_path):
    """The vector count is part of a paper page's key: a paper the follower embeds a moment
    after the store's commit shows up among the similar papers with no other change."""
    from conftest import LiveServer, make_settings
    from paperradar.radar import Radar
    from paperradar.web.app import create_app

    radar = Radar(make_settings(tmp_path / "data", follow_interval_s=0.1))
    radar.load_demo_if_empty()
    radar.sync_indexes()
    try:
        with LiveServer(create_app(radar.settings, radar)) as server, httpx.Client(base_url=server.url) as c:
            first = radar.store.latest_papers(1)[0]
            assert c.get(f"/papers/{first.id}").status_code == 200  # kept
            twin = Paper(id="2699.00001", title=first.title + " revisited", abstract=first.abstract,
                         authors=["Twin Author"], categories=first.categories)
            radar.store.upsert_papers([twin])
            deadline = time.monotonic() + 20
            while "/papers/2699.00001" not in c.get(f"/papers/{first.id}").text:
                assert time.monotonic() < deadline, "the new paper never appeared among the similar ones"
                time.sleep(0.1)
    finally:
        radar.close()


def test_lists_version_moves_with_every_change_of_a_list(store):
    now = dt.datetime(2026, 8, 19, 12)
    p = Paper(id="2608.00001", arxiv_id="2608.00001", title="A listed paper", abstract="About it.")
    from paperradar.models import Listing

    p.listing = Listing(day=DAY, source="hf-daily", upvotes=3)
    store.upsert_papers([p])
    account, _ = store.ensure_account("ada@example.org")
    seen = [store.lists_version()]

    def moved() -> bool:
        seen.append(store.lists_version())
        return seen[-1] != seen[-2]

    store.set_vote(account.id, p.id, True, now)
    assert moved()
    store.set_vote(account.id, p.id, True, now)  # no change: nothing to derive again
    assert not moved()
    store.set_vote(account.id, p.id, False, now)
    assert moved()
    store.hide_listing(p.id, True)
    assert moved()
    store.set_handle(account.id, "ada")
    assert moved()
    store.upsert_papers([Paper(id="2608.00002", title="Another paper", abstract="More.")])
    assert moved()
    assert not moved()


def run(limiter: ApiLimiter, key: str, n: int) -> list[bool]:
    async def go():
        return [await limiter.allow(key) for _ in range(n)]

    # In a thread of its own: the session's browser (Playwright's sync API) keeps an event loop
    # running in this one, where asyncio.run refuses to start another.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_api_limit_writes_in_batches_and_exactly_near_the_limit(store):
    t = [0.0]
    limiter = ApiLimiter(store, limit=50, window_s=60, batch=5, clock=lambda: t[0])
    counted = lambda: store.count_rate_hits("api-ip:1", 0, window=dt.timedelta(seconds=60))  # noqa: E731
    assert run(limiter, "api-ip:1", 12) == [True] * 12
    assert counted() == 10  # two batches written, two requests still in this process's memory
    t[0] += 2  # a second later: written on the next request
    assert run(limiter, "api-ip:1", 1) == [True] and counted() == 13
    outcomes = run(limiter, "api-ip:1", 40)
    assert outcomes == [True] * 37 + [False] * 3  # exactly 50 let through: the last ones counted one by one
    assert counted() == 53


def test_api_limit_shared_by_two_processes_overshoots_by_at_most_their_batches(store):
    a = ApiLimiter(store, limit=100, window_s=60, batch=5, clock=lambda: 0.0)
    b = ApiLimiter(store, limit=100, window_s=60, batch=5, clock=lambda: 0.0)
    allowed = 0
    for _ in range(100):
        allowed += sum(run(a, "api-ip:2", 1) + run(b, "api-ip:2", 1))
    assert 100 <= allowed <= 100 + 2 * (5 - 1)
    assert run(a, "api-ip:2", 1) == [False] and run(b, "api-ip:2", 1) == [False]


def test_one_request_derives_a_dropped_entry_while_the_others_wait(tmp_path):
    import threading

    from starlette.requests import Request

    from paperradar.web.page_cache import PageCache

    store = Store(f"sqlite:///{tmp_path}/p.db")
    cache = PageCache(store)
    made, start = [], threading.Event()

    def make():
        made.append(1)
        time.sleep(0.2)  # long enough for every other thread to ask meanwhile
        return "the list"

    def ask(out):
        start.wait()
        out.append(cache.data(Request({"type": "http", "headers": []}), ("list", 1), make))

    answers: list[str] = []
    threads = [threading.Thread(target=ask, args=(answers,)) for _ in range(8)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()
    assert answers == ["the list"] * 8 and len(made) == 1
    store.ensure_account("ada@example.org")  # nothing any list shows
    assert cache.data(Request({"type": "http", "headers": []}), ("list", 1), make) == "the list" and len(made) == 1
    store.upsert_papers([Paper(id="2608.00003", title="A new paper", abstract="News.")])  # the feed moved
    assert cache.data(Request({"type": "http", "headers": []}), ("list", 1), make) == "the list" and len(made) == 2
    store.close()


def test_rows_kept_one_by_one_are_read_once_until_the_store_changes(tmp_path):
    from starlette.requests import Request

    from paperradar.web.page_cache import PageCache

    store = Store(f"sqlite:///{tmp_path}/p.db")
    cache = PageCache(store)
    asked: list[list[str]] = []

    def fetch(keys):
        asked.append(keys)
        return {k: k.upper() for k in keys if k != "none"}

    def many(keys):
        return cache.many(Request({"type": "http", "headers": []}), "row", keys, fetch)

    assert many(["a", "b", "none"]) == {"a": "A", "b": "B"}
    assert many(["b", "c", "none"]) == {"b": "B", "c": "C"}  # only "c" is read: "none" is known to have no row
    assert asked == [["a", "b", "none"], ["c"]]
    store.upsert_papers([Paper(id="2608.00003", title="A new paper", abstract="News.")])  # the store moved
    assert many(["a", "c"]) == {"a": "A", "c": "C"} and asked[-1] == ["a", "c"]
    store.close()


def test_the_json_search_shows_a_vote_from_another_process_on_the_next_request(site):
    url, radar, _, _ = site
    pid = "2608.19000"
    radar.indexer.sync_lexical()

    def upvotes() -> int:
        found = httpx.get(f"{url}/api/papers/search", params={"q": "proteins", "mode": "lexical"}).json()
        return next(item["upvotes"] for item in found if item["id"] == pid)

    assert upvotes() == 5 and upvotes() == 5  # the second answer's listing was kept
    other = Store(radar.settings.db_url, migrate_schema=False)
    try:
        carol, _ = other.ensure_account("carol@example.org")
        other.set_vote(carol.id, pid, True)
        assert upvotes() == 6
    finally:
        other.close()
