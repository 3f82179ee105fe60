"""Trending: Hacker News gravity over a listing's points, with GitHub stars as a small bonus.

    score = (points + star_weight * log2(1 + stars)) / (age_hours + 2) ** gravity

`points` are the votes shown on the card (local votes + those counted upstream). The age is
counted from the listing (the moment it was submitted, or the start of its day for imported
lists) to `now`, which the caller passes in: no clock is read here. The +2 hours keeps a
brand-new paper from dividing by ~0; gravity 1.8 is HN's: a day-old paper needs about
(26/2)^1.8 = 100x the points of a fresh one to rank level with it. Papers with no points
score 0 and follow the scored ones, newest first (the caller orders those).
docs/trending.md argues the choice and gives measurements.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Callable, Iterable

import numpy as np

GRAVITY = 1.8


def hn_score(points: float, age_hours: float, gravity: float = GRAVITY) -> float:
    """points / (age_hours + 2) ** gravity; negative ages (clock skew) count as 0."""
    return points / (max(age_hours, 0.0) + 2.0) ** gravity


def star_bonus(stars: int | None, weight: float) -> float:
    """weight * log2(1 + stars): a repository's first stars count most, thousands hardly more."""
    return weight * math.log2(1 + max(stars or 0, 0)) if weight else 0.0


def rank(candidates: Iterable[tuple[str, dt.datetime | str, int, int | None]], now: dt.datetime, *,
         gravity: float = GRAVITY, star_weight: float = 0.0) -> list[tuple[str, float]]:
    """(paper id, score) best first, from (paper id, listed at, points, stars) tuples.

    The same formula as `hn_score` and `star_bonus`, over numpy arrays: a month of a busy radar
    has tens of thousands of candidates. Ties (equal scores) go to the more recently listed
    paper, then to the id, so the order is total and the same on every run.
    """
    rows = list(candidates)
    if not rows:
        return []
    ids, listed, points, stars = zip(*rows)
    listed_us = np.array(listed, dtype="datetime64[us]").astype(np.int64)
    now_us = np.datetime64(now.replace(tzinfo=None), "us").astype(np.int64)
    age_hours = np.maximum((now_us - listed_us) / 3.6e9, 0.0)
    stars_arr = np.maximum(np.array([s or 0 for s in stars], dtype=np.float64), 0.0)
    total = np.array(points, dtype=np.float64) + (star_weight * np.log2(1 + stars_arr) if star_weight else 0.0)
    scores = total / (age_hours + 2.0) ** gravity
    order = np.lexsort((np.array(ids), -listed_us, -scores))
    return [(ids[i], float(scores[i])) for i in order]


Fetch = Callable[[dt.date, "int | None", int], list]


def top(days: dict[dt.date, int | None], fetch: Fetch, now: dt.datetime, k: int, *,
        gravity: float = GRAVITY, star_weight: float = 0.0) -> list[tuple[str, float]]:
    """The k best (paper id, score) of several days' listings, as `rank(everything)[:k]` gives
    them, without scoring every listing (Fagin's threshold algorithm over per-day lists).

    `days` maps each day to its most GitHub stars; `fetch(day, top, at_least)` returns that
    day's (paper id, listed at, points, stars) rows with points >= at_least, most points first,
    at most `top` of them. First each day's k rows with most points are scored; the k-th best
    score is a threshold. A row not read yet has no more points than the last row read of its
    day, is listed no later than the end of that day, and has no more stars than the day's
    most, so its score is bounded; only days whose bound reaches the threshold are read
    further, and only down to the points that could still reach it.
    """
    rows: dict[str, tuple] = {}
    cut: dict[dt.date, int] = {}  # days read only partly: the points of the last row read
    for day in days:
        got = fetch(day, k, 1)
        rows.update((r[0], r) for r in got)
        if len(got) == k:
            cut[day] = got[-1][2]
    ranked = rank(rows.values(), now, gravity=gravity, star_weight=star_weight)
    if len(ranked) >= k:
        threshold = ranked[k - 1][1]
        for day, points in cut.items():
            day_end = dt.datetime.combine(day, dt.time(23, 59, 59, 999999))
            youngest = max((now - min(now, day_end)).total_seconds() / 3600, 0.0)
            scale = (youngest + 2.0) ** gravity
            bonus = star_bonus(days[day], star_weight)
            if (points + bonus) / scale >= threshold:
                need = max(1, math.floor(threshold * scale - bonus))
                rows.update((r[0], r) for r in fetch(day, None, need))
        ranked = rank(rows.values(), now, gravity=gravity, star_weight=star_weight)
    return ranked[:k]
