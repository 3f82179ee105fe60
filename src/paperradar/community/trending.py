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
from typing import Iterable

GRAVITY = 1.8


def hn_score(points: float, age_hours: float, gravity: float = GRAVITY) -> float:
    """points / (age_hours + 2) ** gravity; negative ages (clock skew) count as 0."""
    return points / (max(age_hours, 0.0) + 2.0) ** gravity


def star_bonus(stars: int | None, weight: float) -> float:
    """weight * log2(1 + stars): a repository's first stars count most, thousands hardly more."""
    return weight * math.log2(1 + max(stars or 0, 0)) if weight else 0.0


def rank(candidates: Iterable[tuple[str, dt.datetime, int, int | None]], now: dt.datetime, *,
         gravity: float = GRAVITY, star_weight: float = 0.0) -> list[tuple[str, float]]:
    """(paper id, score) best first, from (paper id, listed at, points, stars) tuples.

    Ties (equal scores) go to the more recently listed paper, then to the id, so the order
    is total and the same on every run.
    """
    scored = []
    for paper_id, listed_at, points, stars in candidates:
        age = (now - listed_at).total_seconds() / 3600
        score = hn_score(points + star_bonus(stars, star_weight), age, gravity)
        scored.append((-score, -listed_at.timestamp(), paper_id))
    scored.sort()
    return [(pid, -neg) for neg, _, pid in scored]
