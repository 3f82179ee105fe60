"""Listings, votes and accounts in the store, on SQLite and PostgreSQL; the daily view over them."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from fakes.digest_world import paper
from paperradar.community import daily, periods
from paperradar.models import Listing
from paperradar.store import HandleTaken

NOW = dt.datetime(2026, 8, 21, 18, 0)
D1, D2, D4 = dt.date(2026, 8, 17), dt.date(2026, 8, 18), dt.date(2026, 8, 20)


def listed(store, pid, day, upvotes=0, **kw):
    p = paper(pid, f"Paper {pid}", "An abstract.")
    p.listing = Listing(day=day, source="hf-daily", upvotes=upvotes, **kw)
    store.upsert_papers([p])
    return p.id


def members(store, n):
    return [store.ensure_account(f"m{i}@example.org")[0] for i in range(n)]


def test_first_listing_wins_and_upstream_counts_only_grow(store):
    listed(store, "2608.00001", D1, upvotes=5, github_repo="https://github.com/a/b", num_comments=2)
    listed(store, "2608.00001", D2, upvotes=9, project_page="https://a.b")
    li = store.get_listing("2608.00001")
    assert (li.day, li.imported_upvotes, li.points, li.num_comments) == (D1, 9, 9, 2)
    assert (li.github_repo, li.project_page) == ("https://github.com/a/b", "https://a.b")
    listed(store, "2608.00001", D1, upvotes=3)  # an older snapshot: counts never go down
    assert store.get_listing("2608.00001").imported_upvotes == 9


def test_votes_are_kept_apart_from_imported_upvotes(store):
    pid = listed(store, "2608.00002", D1, upvotes=10)
    a, b = members(store, 2)
    assert store.set_vote(a.id, pid, True) and not store.set_vote(a.id, pid, True)  # idempotent
    store.set_vote(b.id, pid, True)
    li = store.get_listing(pid)
    assert (li.votes, li.imported_upvotes, li.points) == (2, 10, 12)
    assert store.voted(a.id, [pid, "nope"]) == {pid}
    assert store.set_vote(a.id, pid, False) and not store.set_vote(a.id, pid, False)
    assert store.get_listing(pid).points == 11
    assert store.remove_votes(b.id) == 1
    assert store.get_listing(pid).points == 10


def test_fifty_concurrent_votes_of_one_member_leave_one(store):
    pid = listed(store, "2608.00003", D1)
    (a,) = members(store, 1)
    gate = threading.Barrier(50)

    def vote(_):
        gate.wait()
        return store.set_vote(a.id, pid, True)

    with ThreadPoolExecutor(50) as pool:
        changed = list(pool.map(vote, range(50)))
    assert sum(changed) == 1
    assert store.get_listing(pid).votes == 1


def test_fifty_members_voting_at_once_leave_fifty(store):
    pid = listed(store, "2608.00004", D1, upvotes=1)
    accounts = members(store, 50)
    gate = threading.Barrier(50)

    def vote(account):
        gate.wait()
        return store.set_vote(account.id, pid, True)

    with ThreadPoolExecutor(50) as pool:
        assert all(pool.map(vote, accounts))
    li = store.get_listing(pid)
    assert (li.votes, li.points) == (50, 51)


def test_accounts_handles_and_single_use_logins(store):
    a, created = store.ensure_account("ada@example.org")
    assert created and a.handle is None and a.role == "member"
    again, created = store.ensure_account("ada@example.org")
    assert not created and again.id == a.id
    b, _ = store.ensure_account("bob@example.org")
    store.set_handle(a.id, "ada")
    with pytest.raises(HandleTaken):
        store.set_handle(b.id, "ada")
    assert store.use_login(a.id, a.login_nonce) and not store.use_login(a.id, a.login_nonce)
    token = store.create_session(a.id, dt.timedelta(days=1))
    assert store.session_account(token).email == "ada@example.org"
    store.update_account(a.id, status="banned")  # a ban ends every session
    assert store.session_account(token) is None


def test_daily_view_sorts_and_skips_empty_days(store):
    ids = {n: listed(store, f"2608.1000{n}", day, upvotes=up) for n, (day, up) in enumerate(
        [(D1, 3), (D2, 1), (D2, 8), (D4, 2), (D4, 0)])}
    view = daily.view(store, periods.of("date", D2), sort="votes", now=NOW)
    assert [e.paper.id for e in view.entries] == [ids[2], ids[1]]
    assert view.prev.start == D1 and view.next.start == D4  # 08-19 has no papers: skipped
    week = daily.view(store, periods.parse("week", "2026-W34"), sort="votes", now=NOW, size=2)
    assert week.total == 5 and [e.listing.points for e in week.entries] == [8, 3] and week.has_next
    page2 = daily.view(store, periods.parse("week", "2026-W34"), sort="votes", now=NOW, size=2, page=3)
    assert [e.paper.id for e in page2.entries] == [ids[4]] and not page2.has_next
    trending = daily.view(store, periods.parse("week", "2026-W34"), sort="trending", now=NOW)
    # measured as of the end of the latest listed day (08-20 23:59:59, the lists stop there):
    # 2 points a day old, 2/26^1.8 = 0.0057, beat 8 points three days old, 8/74^1.8 = 0.0034
    assert trending.as_of == dt.datetime(2026, 8, 20, 23, 59, 59)
    assert [e.paper.id for e in trending.entries][:2] == [ids[3], ids[2]]
    assert trending.entries[-1].paper.id == ids[4] and trending.entries[-1].score is None  # no points: last


def test_hidden_listings_leave_every_list(store):
    pid = listed(store, "2608.20000", D1, upvotes=4)
    store.hide_listing(pid)
    assert daily.view(store, periods.of("date", D1), sort="votes", now=NOW).entries == []
    assert store.latest_listing_day() is None
