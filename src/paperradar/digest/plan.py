"""Planning a digest day: for every due subscriber, pick papers and write one outbox row.

Planning is idempotent: subscribers who already have a row for the date are skipped, and a
row, the papers it reserves and the subscriber's new `last_digest_at` are written in one
transaction per chunk. A crash mid-planning leaves whole rows or none; a rerun plans the rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..community.daily import Ranking, view as daily_view
from ..community.periods import Period
from ..models import Paper
from ..store import PlannedDigest, Store, Subscriber
from .select import EmbedTexts, Feedback, Pick, Ranker

PaperVectors = Callable[[list[Paper]], np.ndarray]

PERIOD = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}
# Windows overlap by this much so that a paper stored during the second a digest was planned
# is not lost; `sent_papers` keeps the overlap from sending anything twice.
OVERLAP = dt.timedelta(hours=1)
# A paper first seen now whose first version is older than this before the window is a
# backfill of old papers, not news.
BACKFILL = dt.timedelta(days=30)
CHUNK = 500


@dataclass
class PlanResult:
    planned: int = 0  # rows written with papers
    empty: int = 0  # rows written with none (recorded, not sent)
    skipped: int = 0  # due subscribers who already had a row (another planner won)
    not_due: int = 0  # weekly subscribers whose week is not over


def is_due(sub: Subscriber, digest_date: dt.date) -> bool:
    if sub.frequency == "weekly" and sub.last_digest_at is not None:
        return (digest_date - sub.last_digest_at.date()).days >= 7
    return True


def window_start(sub: Subscriber, cutoff: dt.datetime) -> dt.datetime:
    """Start of the subscriber's "new since" window: the last digest's cutoff, or one period
    before confirmation for a first digest; never more than two periods back (after a pause)."""
    period = PERIOD.get(sub.frequency, PERIOD["daily"])
    start = sub.last_digest_at or ((sub.confirmed_at or sub.created_at or cutoff) - period)
    return max(start, cutoff - 2 * period) - OVERLAP


def message_id(digest_date: dt.date, subscriber_id: int, host: str) -> str:
    """Deterministic, so a resend of the same digest is recognisably the same message."""
    return f"<digest-{digest_date:%Y%m%d}-{subscriber_id}@{host}>"


def choose(store: Store, subs: list[Subscriber], *, digest_date: dt.date, cutoff: dt.datetime,
           embed_texts: EmbedTexts, paper_vectors: PaperVectors, threshold: float = 0.3,
           top_n: int = 10, ranking: Ranking | None = None) -> Iterator[tuple[Subscriber, list[Pick]]]:
    """Each subscriber's picks among the papers new in their window; writes nothing.

    What a digest holds is the subscriber's choice (`content`): the papers matching their
    interests, the trending papers of the lists in their window, or both (matches first)."""
    if not subs:
        return
    since = {s.id: window_start(s, cutoff) for s in subs}
    trending = TrendingPicks(store, cutoff, top_n, ranking or Ranking())
    for s, picks in _interest_picks(store, subs, since, cutoff, embed_texts, paper_vectors, threshold, top_n):
        if s.content in ("trending", "both"):
            picks = picks + trending.for_subscriber(s, since[s.id], {p.paper.id for p in picks})
        yield s, picks


def _interest_picks(store: Store, subs: list[Subscriber], since: dict[int, dt.datetime], cutoff: dt.datetime,
                    embed_texts: EmbedTexts, paper_vectors: PaperVectors, threshold: float,
                    top_n: int) -> Iterator[tuple[Subscriber, list[Pick]]]:
    earliest = min(since.values())
    papers = store.papers_first_seen_between(earliest, cutoff, (earliest - BACKFILL).date())
    if not papers or all(s.content == "trending" for s in subs):
        for s in subs:
            yield s, []
        return
    ranker = Ranker(papers, paper_vectors(papers), embed_texts, threshold=threshold, top_n=top_n)
    ranker.add_topics([t for s in subs for t in s.topics])  # one embedding call for the run
    first_seen = np.array([p.first_seen_at for p in papers], dtype="datetime64[s]")
    feedback = _feedback(store, subs, paper_vectors)
    already: dict[int, list[int]] = {}
    for sid, pid in store.sent_pairs([s.id for s in subs], [p.id for p in papers]):
        already.setdefault(sid, []).append(ranker.index[pid])
    for s in subs:
        if s.content == "trending":
            yield s, []
            continue
        mask = first_seen > np.datetime64(since[s.id], "s")
        mask[already.get(s.id, [])] = False
        yield s, ranker.pick(s.topics, s.categories, s.authors, mask, feedback.get(s.id))


class TrendingPicks:
    """The trending papers of the lists since a subscriber's last digest, as digest picks.

    Ranked once per window start (most subscribers share one), without the papers a subscriber
    was already sent or already gets as a match."""

    def __init__(self, store: Store, cutoff: dt.datetime, top_n: int, ranking: Ranking):
        self.store, self.cutoff, self.top_n, self.ranking = store, cutoff, top_n, ranking
        self._ranked: dict[dt.date, list] = {}

    def _window(self, start: dt.date) -> list:
        if start not in self._ranked:
            period = Period("date", start, self.cutoff.date())
            view = daily_view(self.store, period, sort="trending", now=self.cutoff, size=self.top_n * 3,
                              ranking=self.ranking)
            self._ranked[start] = [e for e in view.entries if e.listing.points > 0]
        return self._ranked[start]

    def for_subscriber(self, sub: Subscriber, since: dt.datetime, taken: set[str]) -> list[Pick]:
        entries = [e for e in self._window(since.date()) if e.paper.id not in taken]
        sent = self.store.sent_pairs([sub.id], [e.paper.id for e in entries])
        picks = []
        for e in entries:
            if (sub.id, e.paper.id) in sent:
                continue
            n = e.listing.points
            picks.append(Pick(e.paper, e.score or 0.0, [f"trending: {n} vote{'s' if n != 1 else ''}"]))
            if len(picks) >= self.top_n:
                break
        return picks


def plan_day(store: Store, *, digest_date: dt.date, cutoff: dt.datetime, embed_texts: EmbedTexts,
             paper_vectors: PaperVectors, host: str, threshold: float = 0.3, top_n: int = 10,
             only_email: str | None = None, ranking: Ranking | None = None,
             progress: Callable[[int, int], None] | None = None) -> PlanResult:
    """Write the outbox rows for `digest_date`; papers first seen up to `cutoff` count."""
    result = PlanResult()
    subs = []
    for s in store.subscribers_without_digest(digest_date):
        if only_email is not None and s.email != only_email:
            continue
        if is_due(s, digest_date):
            subs.append(s)
        else:
            result.not_due += 1
    picked = choose(store, subs, digest_date=digest_date, cutoff=cutoff, embed_texts=embed_texts,
                    paper_vectors=paper_vectors, threshold=threshold, top_n=top_n, ranking=ranking)
    rows: list[PlannedDigest] = []
    done = 0

    def flush() -> None:
        nonlocal done
        written = set(store.plan_digests(rows))
        result.skipped += len(rows) - len(written)
        result.planned += sum(1 for r in rows if r.subscriber_id in written and r.state == "pending")
        result.empty += sum(1 for r in rows if r.subscriber_id in written and r.state == "empty")
        done += len(rows)
        rows.clear()
        if progress:
            progress(done, len(subs))

    for s, picks in picked:
        items = [{"id": p.paper.id, "score": round(p.score, 4), "reasons": p.reasons} for p in picks]
        state = "pending" if items or s.send_empty else "empty"
        rows.append(PlannedDigest(s.id, digest_date, message_id(digest_date, s.id, host), items, cutoff, state))
        if len(rows) >= CHUNK:
            flush()
    if rows:
        flush()
    return result


def _feedback(store: Store, subs: list[Subscriber], paper_vectors: PaperVectors) -> dict[int, Feedback]:
    given = store.feedback_for([s.id for s in subs])
    if not given:
        return {}
    ids = sorted({pid for pairs in given.values() for pid, _ in pairs})
    known = store.get_papers(ids)
    ordered = [known[pid] for pid in ids if pid in known]
    vecs = paper_vectors(ordered) if ordered else np.zeros((0, 1), np.float32)
    row = {p.id: vecs[k] for k, p in enumerate(ordered)}
    dim = vecs.shape[1]
    out = {}
    for sid, pairs in given.items():
        liked = [pid for pid, v in pairs if v > 0 and pid in row]
        disliked = [pid for pid, v in pairs if v < 0 and pid in row]
        out[sid] = Feedback(
            liked=np.stack([row[p] for p in liked]) if liked else np.zeros((0, dim), np.float32),
            disliked=np.stack([row[p] for p in disliked]) if disliked else np.zeros((0, dim), np.float32),
            liked_titles=[known[p].title for p in liked],
        )
    return out
