"""The topic job: fit areas and topics to the stored embeddings, name them, lay out the map,
count weeks, and write it all to the store in one transaction (`paperradar topics rebuild`);
and place papers embedded since on the existing topics (`assign`).

Topic ids survive a refit where the topic is the same: each new cluster takes the id of the
old topic it shares most papers with (Jaccard overlap of at least MATCH), greedily from the best
overlap down; the rest get new ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from pathlib import Path
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import UserError
from ..store import Store, Topic
from . import cluster, layout, naming, rising, views

MATCH = 0.3
Progress = Callable[[str], None]
STEPS = ("reading embeddings", "clustering", "naming topics", "laying out the map", "counting weeks", "writing")


class TooFewPapers(UserError):
    """Not enough embedded papers for a map."""


@dataclass
class BuildReport:
    papers: int
    topics: int
    areas: int
    kept_ids: int  # topics that kept the id they had before the refit
    seconds: float


def _vectors(store: Store, model: str) -> tuple[list[str], np.ndarray]:
    ids, rows = [], []
    for pid, vec in store.current_embeddings(model):
        ids.append(pid)
        rows.append(vec)
    return ids, (np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 1), np.float32))


def stable_ids(new_members: list[set[str]], old: dict[int, set[str]], first_free: int) -> list[int]:
    """An id for each new cluster: an old topic's when they share enough papers, else a new one."""
    pairs = []
    for i, members in enumerate(new_members):
        for tid, before in old.items():
            shared = len(members & before)
            if shared:
                pairs.append((shared / len(members | before), i, tid))
    ids: list[int | None] = [None] * len(new_members)
    used: set[int] = set()
    for overlap, i, tid in sorted(pairs, reverse=True):
        if overlap >= MATCH and ids[i] is None and tid not in used:
            ids[i] = tid
            used.add(tid)
    nxt = max([first_free, *(t + 1 for t in old)])
    for i, tid in enumerate(ids):
        if tid is None:
            ids[i], nxt = nxt, nxt + 1
    return ids  # type: ignore[return-value]


def weekly_counts(days: list[dt.date], labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """((k, WEEKS) papers per topic per week, (WEEKS,) all papers per week), oldest week first,
    the last week being the latest week that has papers."""
    if not days:
        return np.zeros((k, rising.WEEKS), int), np.zeros(rising.WEEKS, int)
    latest = max(days)
    end = latest + dt.timedelta(days=6 - latest.weekday())  # that week's Sunday
    per = np.zeros((k, rising.WEEKS), int)
    for day, label in zip(days, labels):
        back = (end - day).days // 7
        if back < rising.WEEKS:
            per[label, rising.WEEKS - 1 - back] += 1
    return per, per.sum(axis=0)


def _clusters(vecs: np.ndarray, ids: list[str], k: int, checkpoint: Path | None):
    """(fine, areas, resumed) clusters: from the checkpoint when it was made from these very papers."""
    key = hashlib.sha256("\n".join(ids).encode() + vecs.tobytes()[:1 << 20] + str(k).encode()).hexdigest()
    if checkpoint is not None and checkpoint.exists():
        try:
            with np.load(checkpoint) as saved:
                if str(saved["key"]) == key:
                    return (cluster.Clusters(saved["fc"], saved["fl"], saved["fs"]),
                            cluster.Clusters(saved["ac"], saved["al"], saved["as"]), True)
        except (OSError, ValueError, KeyError):
            pass  # a damaged checkpoint is only a cache: fit again
    fine = cluster.kmeans(vecs, k)
    areas = cluster.kmeans(fine.centroids, cluster.area_count(k))
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        tmp = checkpoint.with_suffix(".tmp.npz")
        np.savez(tmp, key=key, fc=fine.centroids, fl=fine.labels, fs=fine.similarity,
                 ac=areas.centroids, al=areas.labels, **{"as": areas.similarity})
        tmp.replace(checkpoint)
    return fine, areas, False


def rebuild(store: Store, model: str, *, now: dt.datetime, per_topic: int = cluster.PAPERS_PER_TOPIC,
            progress: Progress | None = None, checkpoint: Path | None = None) -> BuildReport:
    """Fit topics of about `per_topic` papers each (and their areas) to every embedded paper.

    With `checkpoint` (a file in the data dir's cache), the clustering, the longest step, is
    saved as soon as it is done: a rebuild killed later and run again over the same papers
    resumes after it."""
    say = progress or (lambda _msg: None)
    started = dt.datetime.now()
    say("reading embeddings")
    ids, vecs = _vectors(store, model)
    if len(ids) < cluster.MIN_PAPERS:
        raise TooFewPapers(f"{len(ids)} embedded papers; topics need at least {cluster.MIN_PAPERS} "
                           f"(ingest more, and let `reindex` embed them)")
    k = cluster.topic_count(len(ids), per_topic)
    fine, areas, resumed = _clusters(vecs, ids, k, checkpoint)
    say("clustering: resumed from the checkpoint" if resumed else "clustering")
    paper_area = areas.labels[fine.labels]
    say("naming topics")
    # words from at most SAMPLE papers (a fixed-seed sample): enough to name 400 topics, and
    # reading a million abstracts would cost minutes and gigabytes
    sample = np.arange(len(ids))
    if len(ids) > cluster.SAMPLE:
        sample = np.sort(np.random.default_rng(cluster.SEED).choice(len(ids), cluster.SAMPLE, replace=False))
    found = store.get_papers([ids[i] for i in sample])
    docs = [f"{p.title}. {p.title}. {p.abstract}" if (p := found.get(ids[i])) else "" for i in sample]
    tokens = naming.tokenize(docs)
    topic_terms = naming.distinctive_terms(tokens, fine.labels[sample].tolist(), len(fine.centroids))
    area_terms = naming.distinctive_terms(tokens, paper_area[sample].tolist(), len(areas.centroids))
    say("laying out the map")
    topic_xy = layout.mds(fine.centroids)
    area_xy = np.array([topic_xy[areas.labels == a].mean(axis=0) if (areas.labels == a).any() else (0, 0)
                        for a in range(len(areas.centroids))])
    xy = layout.place(vecs, fine.labels, topic_xy)
    span = max(float(np.abs(xy).max()), 1.0)  # clouds may reach past the topics' [-1, 1]: fit them in
    xy, topic_xy, area_xy = xy / span, topic_xy / span, area_xy / span
    say("counting weeks")
    day_of = store.paper_days(ids)
    days = [day_of.get(i) for i in ids]
    known = [n for n, d in enumerate(days) if d is not None]
    weekly, totals = weekly_counts([days[n] for n in known], fine.labels[known], len(fine.centroids))
    area_weekly, _ = weekly_counts([days[n] for n in known], paper_area[known], len(areas.centroids))
    old = store.topic_members()
    old_topics = {t.id: t for t in store.topics()}
    old_fine = {tid: m for tid, m in old.items() if old_topics.get(tid) and old_topics[tid].level == "topic"}
    fine_members = [set() for _ in range(len(fine.centroids))]
    for pid, label in zip(ids, fine.labels):
        fine_members[label].add(pid)
    topic_ids = stable_ids(fine_members, old_fine, 1)
    area_members = [set().union(*(fine_members[t] for t in np.flatnonzero(areas.labels == a)))
                    for a in range(len(areas.centroids))]
    old_areas = {}
    for tid, t in old_topics.items():
        if t.level == "area":
            old_areas[tid] = set().union(*(old.get(c, set()) for c, ct in old_topics.items() if ct.parent_id == tid))
    area_ids = stable_ids(area_members, old_areas, max([*topic_ids, *old_topics, 0]) + 1)
    n = len(ids)
    rows = []
    for a, aid in enumerate(area_ids):
        size = len(area_members[a])
        rows.append(Topic(aid, "area", None, naming.name_of(area_terms[a], 2), area_terms[a], size,
                          areas.centroids[a], *area_xy[a], area_weekly[a].tolist(),
                          rising.growth(area_weekly[a], totals), model, now))
    for t, tid in enumerate(topic_ids):
        size = len(fine_members[t])
        rows.append(Topic(tid, "topic", area_ids[areas.labels[t]], naming.name_of(topic_terms[t]), topic_terms[t],
                          size, fine.centroids[t], *topic_xy[t], weekly[t].tolist(),
                          rising.growth(weekly[t], totals), model, now))
    placed = [{"paper_id": pid, "topic_id": topic_ids[label], "x": float(p[0]), "y": float(p[1]),
               "similarity": float(sim)} for pid, label, p, sim in zip(ids, fine.labels, xy, fine.similarity)]
    say("writing")
    fine_sorted, area_map = views.by_growth(rows)
    encoded = views.encode_map(fine_sorted, area_map, ids, xy, np.array([topic_ids[label] for label in fine.labels]))
    store.replace_topics(rows, placed, encoded, now)
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)  # written: nothing left to resume
    kept = sum(1 for tid in topic_ids if tid in old_fine)
    return BuildReport(n, len(topic_ids), len(area_ids), kept, (dt.datetime.now() - started).total_seconds())


def assign(store: Store, model: str) -> int:
    """Place papers embedded since the last fit on the nearest topic; returns how many."""
    fine = [t for t in store.topics() if t.level == "topic" and t.model == model]
    if not fine:
        return 0
    pending = store.unplaced_papers(model)
    placed = 0
    for i in range(0, len(pending), 5000):
        chunk = pending[i : i + 5000]
        vecs = [(pid, store.get_embedding(model, pid)) for pid in chunk]
        vecs = [(pid, v) for pid, v in vecs if v is not None]
        if not vecs:
            continue
        centroids = np.vstack([t.centroid for t in fine])
        labels, sims = cluster.assign(centroids, np.vstack([v for _, v in vecs]))
        # near its topic's point, at a distance that grows as it is less typical of the topic
        rows = []
        for (pid, _), label, sim in zip(vecs, labels, sims):
            t = fine[label]
            angle = (zlib.crc32(pid.encode()) % 3600) / 3600 * 2 * np.pi  # the same every run
            r = 0.05 * (1 - float(sim))
            rows.append({"paper_id": pid, "topic_id": t.id, "x": t.x + r * np.cos(angle),
                         "y": t.y + r * np.sin(angle), "similarity": float(sim)})
        store.add_topic_points(rows)
        placed += len(rows)
    if placed:  # the map the pages download includes the new points
        store.save_topic_map(views.encode_map(*views.by_growth(store.topics()), *store.topic_points()),
                             dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    return placed


def ensure(store: Store, model: str, *, per_topic: int = cluster.PAPERS_PER_TOPIC) -> str | None:
    """At start: fit topics when there are none yet and enough papers (a fresh demo: 3 s), else
    place the papers embedded since. Returns what it did, for the log, or None."""
    if not any(t.model == model for t in store.topics()):
        try:
            report = rebuild(store, model, now=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                             per_topic=per_topic)
        except TooFewPapers:
            return None
        return f"fitted {report.topics} topics in {report.areas} areas to {report.papers:,} papers"
    placed = assign(store, model)
    return f"placed {placed} new papers on the map" if placed else None
