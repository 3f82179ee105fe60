"""Trending as a pure function (bm25s-style: hand-worked numbers) and the periods lists cover."""

from __future__ import annotations

import datetime as dt

import pytest

from paperradar.community import periods
from paperradar.community.trending import hn_score, rank, star_bonus, top
from paperradar.errors import UserError

NOW = dt.datetime(2026, 8, 21, 12, 0)


@pytest.mark.parametrize("points, age, expected", [
    (0, 0, 0.0), (0, 2, 0.0), (0, 48, 0.0),
    (1, 0, 1 / 2 ** 1.8), (1, 2, 1 / 4 ** 1.8), (1, 48, 1 / 50 ** 1.8),
    (40, 0, 40 / 2 ** 1.8), (40, 2, 40 / 4 ** 1.8), (40, 48, 40 / 50 ** 1.8),
])
def test_hn_score_table(points, age, expected):
    assert hn_score(points, age) == pytest.approx(expected)


def test_the_time_term_never_drops_out():
    """Older is lower at every point count, zero included (reddit's old sort lost the time term at 0)."""
    for points in (0, 1, 40):
        assert hn_score(points, 0) >= hn_score(points, 2) >= hn_score(points, 48)
    assert hn_score(1, 1000) > hn_score(0, 0)


def test_fresh_three_votes_beat_a_day_old_thirty():
    ranked = rank([("old", NOW - dt.timedelta(hours=24), 30, None), ("new", NOW, 3, None)], NOW)
    assert [pid for pid, _ in ranked] == ["new", "old"]
    assert ranked[0][1] == pytest.approx(3 / 2 ** 1.8)
    assert ranked[1][1] == pytest.approx(30 / 26 ** 1.8)


def test_a_week_old_paper_with_many_votes_loses_to_a_day_old_with_some():
    ranked = rank([("week", NOW - dt.timedelta(days=7), 200, None), ("day", NOW - dt.timedelta(days=1), 10, None)], NOW)
    assert [pid for pid, _ in ranked] == ["day", "week"]  # 10/26^1.8 = 0.0286 > 200/170^1.8 = 0.0194


def test_a_burst_of_votes_lifts_an_older_paper():
    before = rank([("a", NOW - dt.timedelta(hours=10), 5, None), ("b", NOW - dt.timedelta(hours=2), 4, None)], NOW)
    after = rank([("a", NOW - dt.timedelta(hours=10), 5 + 30, None), ("b", NOW - dt.timedelta(hours=2), 4, None)], NOW)
    assert [p for p, _ in before] == ["b", "a"] and [p for p, _ in after] == ["a", "b"]


def test_ties_go_to_the_newer_listing_then_the_id():
    same = NOW - dt.timedelta(hours=5)
    ranked = rank([("z", same, 7, None), ("a", same, 7, None), ("m", NOW - dt.timedelta(hours=5, seconds=1), 7, None)], NOW)
    # m is a second older: a hair lower score; a and z tie exactly and go by id
    assert [p for p, _ in ranked] == ["a", "z", "m"]


def test_stars_add_log2_points_and_gravity_is_a_parameter():
    assert star_bonus(None, 1.0) == 0 and star_bonus(0, 1.0) == 0
    assert star_bonus(1023, 1.0) == pytest.approx(10.0)
    assert star_bonus(1023, 0.0) == 0
    ranked = rank([("code", NOW, 1, 1023), ("votes", NOW, 5, None)], NOW, star_weight=1.0)
    assert [p for p, _ in ranked] == ["code", "votes"]  # 1 + 10 > 5
    assert rank([("x", NOW - dt.timedelta(hours=2), 4, None)], NOW, gravity=1.0)[0][1] == pytest.approx(1.0)


@pytest.mark.parametrize("kind, text, start, end", [
    ("date", "2024-02-29", dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    ("week", "2026-W01", dt.date(2025, 12, 29), dt.date(2026, 1, 4)),
    ("week", "2020-W53", dt.date(2020, 12, 28), dt.date(2021, 1, 3)),
    ("month", "2025-02", dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
    ("month", "2024-12", dt.date(2024, 12, 1), dt.date(2024, 12, 31)),
])
def test_periods_parse(kind, text, start, end):
    p = periods.parse(kind, text)
    assert (p.start, p.end) == (start, end)
    assert p.slug == text and p.path == f"/papers/{kind}/{text}"


@pytest.mark.parametrize("kind, text, message", [
    ("date", "2025-02-30", "not a date on the calendar"),
    ("date", "yesterday", "date must look like 2025-03-11"),
    ("week", "2025-W54", "2025 has no ISO week 54"),
    ("week", "2025-W00", "has no ISO week 0"),
    ("week", "2025-7", "week must look like 2025-W07"),
    ("month", "2025-13", "months 01-12"),
    ("month", "2025-00", "months 01-12"),
    ("year", "2025", "unknown period"),
])
def test_bad_periods_say_what_was_expected(kind, text, message):
    with pytest.raises(UserError, match=message):
        periods.parse(kind, text)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [1, 5, 21])
def test_threshold_top_k_equals_scoring_everything(seed, k):
    """`top` reads days partly; it must give exactly the first k of ranking every listing."""
    import random

    rnd = random.Random(seed)
    days = [dt.date(2026, 8, 1) + dt.timedelta(days=d) for d in range(rnd.randint(2, 12))]
    rows = {day: [] for day in days}
    for day in days:
        for i in range(rnd.randint(0, 60)):
            listed = dt.datetime.combine(day, dt.time()) + (dt.timedelta(minutes=rnd.randint(0, 1439)) if rnd.random() < 0.3 else dt.timedelta())
            stars = rnd.choice([None, None, rnd.randint(0, 5000)])
            rows[day].append((f"{day:%d}-{i:03d}", listed, int(rnd.paretovariate(1.2)), stars))
    now = dt.datetime.combine(days[-1], dt.time(23, 59, 59)) + dt.timedelta(hours=rnd.choice([0, 5, 50]))
    reads = []

    def fetch(day, top_n, at_least):
        got = sorted((r for r in rows[day] if r[2] >= at_least), key=lambda r: -r[2])
        reads.append(len(got[:top_n] if top_n else got))
        return got[:top_n] if top_n else got

    star_weight = rnd.choice([0.0, 1.0])
    everything = rank([r for day in days for r in rows[day]], now, star_weight=star_weight)[:k]
    assert top({d: max((r[3] or 0 for r in rows[d]), default=None) for d in days}, fetch, now, k,
               star_weight=star_weight) == everything
