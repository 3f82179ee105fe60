"""The change feed: a reader following `seq` never misses a commit, whatever order writers finish in.

Writers (threads with their own connections, and separate processes) ingest at once, one of
them holding its transaction open long after assigning its positions while short ones try to
commit meanwhile; a follower reads the feed the whole time, the way an index catches up. At the
end the follower holds exactly the store's papers, and no position was given twice. Before the
feed lock, PostgreSQL writers took `max(seq)+1` side by side: the short one committed a higher
seq first, the follower moved past the long one's, and never looked back.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

from sqlalchemy import func, select

from paperradar.models import Paper
from paperradar.store import Store, papers as store_papers
from paperradar.store.schema import papers

LONG_HOLD_S = 0.8


def batch(prefix: str, n: int, start: int = 0) -> list[Paper]:
    return [Paper(id=f"{prefix}-{i}", arxiv_id=f"{prefix}.{i:05d}", title=f"Paper {prefix} number {i}",
                  abstract=f"About {prefix} {i}.", authors=["A. Author"], categories=["cs.LG"])
            for i in range(start, start + n)]


class Follower(threading.Thread):
    """Reads the feed from its last position until told to stop, then once more."""

    def __init__(self, store: Store):
        super().__init__(daemon=True)
        self.store, self.seq, self.ids, self.seen = store, 0, set(), []
        self.done = threading.Event()

    def catch_up(self) -> None:
        for seq, paper in self.store.papers_changed_since(self.seq):
            assert seq > self.seq
            self.seq = seq
            self.seen.append(seq)
            self.ids.add(paper.id)

    def run(self) -> None:
        while not self.done.is_set():
            self.catch_up()
            time.sleep(0.005)
        self.catch_up()


def ingest_in_process(url: str, prefix: str, n: int) -> None:
    store = Store(url, migrate_schema=False)
    try:
        for i in range(0, n, 10):
            store.upsert_papers(batch(prefix, 10, i))
    finally:
        store.close()


def long_transaction(store: Store, started: threading.Event) -> None:
    """Assigns its positions, then holds the transaction open while others try to commit."""
    with store.tx() as conn:
        store_papers.upsert(conn, batch("long", 25))
        started.set()
        time.sleep(LONG_HOLD_S)


def test_a_follower_misses_no_paper_when_commits_finish_out_of_order(store):
    store.upsert_papers(batch("before", 5))
    follower = Follower(store)
    follower.start()
    started = threading.Event()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=ingest_in_process, args=(store.url, f"proc{i}", 30)) for i in range(2)]
    for p in procs:
        p.start()
    long = threading.Thread(target=long_transaction, args=(store, started))
    long.start()
    assert started.wait(30)

    def short_writer(k: int) -> None:
        for i in range(0, 40, 5):
            store.upsert_papers(batch(f"short{k}", 5, i))
            # the same papers again, changed: a new position for each
            store.upsert_papers([p.replace(abstract=p.abstract + " Revised.") for p in batch(f"short{k}", 2, i)])
        store.mark_withdrawn([f"short{k}.{0:05d}"])

    shorts = [threading.Thread(target=short_writer, args=(k,)) for k in range(3)]
    for t in shorts:
        t.start()
    for t in shorts + [long]:
        t.join(60)
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    follower.done.set()
    follower.join(30)

    with store.engine.connect() as conn:
        stored = set(conn.execute(select(papers.c.id)).scalars())
        duplicated = conn.execute(select(papers.c.seq).group_by(papers.c.seq).having(func.count() > 1)).all()
    assert len(stored) == 5 + 25 + 2 * 30 + 3 * 40
    assert follower.ids == stored
    assert duplicated == []
    assert follower.seen == sorted(follower.seen) and len(set(follower.seen)) == len(follower.seen)
    assert follower.seq == store.max_seq()


def test_concurrent_ingests_of_the_same_papers_store_each_once(store):
    """Two harvests of one day's papers at once (PostgreSQL used to fail with
    UniqueViolation papers_pkey): every call succeeds, each paper is stored once."""
    errors, barrier = [], threading.Barrier(6)

    def harvest(k: int) -> None:
        barrier.wait()
        try:
            for i in range(0, 30, 10):
                result = store.upsert_papers(batch("same", 10, i))
                assert len(result.ids) == 10
        except Exception as e:  # noqa: BLE001 - the test looks at every failure
            errors.append(e)

    threads = [threading.Thread(target=harvest, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert store.count_papers() == 30
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count(func.distinct(papers.c.seq)))).scalar() == 30
