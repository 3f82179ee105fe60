"""Concurrent writers on one store, SQLite and PostgreSQL: the unique constraints decide.

Each test starts many threads at once (a barrier) calling the public `Store` methods, the way
several web workers or two `digest run`s would, and checks that exactly one row or exactly
`limit` successes came out and that no IntegrityError escaped.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from paperradar.store import PlannedDigest, SubscriberExists
from paperradar.store.schema import feedback, meta, outbox, rate_limits, sent_papers, subscribers

WORKERS = 30
NOW = dt.datetime(2026, 3, 2, 12, 0, 0)


def race(n: int, fn):
    """Call fn(i) for i in range(n) on n threads released together; [(result, exception)]."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return fn(i), None
        except Exception as e:  # noqa: BLE001 - the tests look at what each call raised
            return None, e

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def rows(store, table, *where) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def errors(outcomes) -> list[Exception]:
    return [e for _, e in outcomes if e is not None]


def test_rate_limit_lets_exactly_limit_through(store):
    window = dt.timedelta(minutes=10)
    outcomes = race(50, lambda i: store.hit_rate_limit("ip:1", limit=10, window=window, now=NOW))
    assert errors(outcomes) == []
    assert sum(ok for ok, _ in outcomes) == 10
    with store.engine.connect() as conn:
        assert conn.execute(select(rate_limits.c.count).where(rate_limits.c.key == "ip:1")).scalar() == 50
    # A new window starts over, and another key has its own count.
    later = NOW + window
    assert store.hit_rate_limit("ip:1", limit=10, window=window, now=later)
    assert store.hit_rate_limit("ip:2", limit=1, window=window, now=later)
    assert not store.hit_rate_limit("ip:2", limit=1, window=window, now=later)
    with store.engine.connect() as conn:
        row = conn.execute(select(rate_limits).where(rate_limits.c.key == "ip:1")).one()
    assert (row.count, row.window_start) == (1, later)


def test_concurrent_adds_of_one_address_make_one_subscriber(store):
    outcomes = race(WORKERS, lambda i: store.add_subscriber("race@example.org", now=NOW, topics=[f"t{i}"]))
    added = [sub for sub, _ in outcomes if sub is not None]
    assert len(added) == 1
    assert added[0].email == "race@example.org"
    assert all(isinstance(e, SubscriberExists) for e in errors(outcomes)), errors(outcomes)
    assert len(errors(outcomes)) == WORKERS - 1
    assert rows(store, subscribers) == 1
    # Later, in one thread: still the domain error.
    try:
        store.add_subscriber("race@example.org", now=NOW)
    except SubscriberExists:
        pass
    else:
        raise AssertionError("a second add of the address succeeded")


def test_concurrent_feedback_leaves_one_row(store):
    sub = store.add_subscriber("fb@example.org", now=NOW, status="active")
    outcomes = race(WORKERS, lambda i: store.put_feedback(sub.id, "p1", 1 if i % 2 else -1,
                                                          NOW + dt.timedelta(seconds=i)))
    assert errors(outcomes) == []
    assert rows(store, feedback) == 1
    [(pid, value)] = store.feedback_for([sub.id])[sub.id]
    assert pid == "p1" and value in (1, -1)
    store.put_feedback(sub.id, "p1", -1, NOW)  # the latest click wins
    store.put_feedback(sub.id, "p1", 1, NOW)
    assert store.feedback_for([sub.id]) == {sub.id: [("p1", 1)]}


def test_concurrent_meta_puts_leave_one_row(store):
    outcomes = race(WORKERS, lambda i: store.put_meta("checkpoint", f"v{i}"))
    assert errors(outcomes) == []
    assert rows(store, meta, meta.c.key == "checkpoint") == 1
    assert store.get_meta("checkpoint") in {f"v{i}" for i in range(WORKERS)}
    store.put_meta("checkpoint", "last")
    assert store.get_meta("checkpoint") == "last"


def test_concurrent_planners_write_one_row(store):
    subs = [store.add_subscriber(f"s{i}@example.org", now=NOW, status="active") for i in range(3)]
    day = NOW.date()

    def planner(i):
        # Each planner picked different papers for the same subscribers and date.
        digests = [PlannedDigest(s.id, day, f"<digest-{s.id}@example.org>",
                                 [{"id": f"p{i}", "score": 1.0, "reasons": []}], NOW)
                   for s in reversed(subs)]  # not in id order: plan must not deadlock
        return store.plan_digests(digests, NOW)

    outcomes = race(WORKERS, planner)
    assert errors(outcomes) == []
    written = [ids for ids, _ in outcomes]
    # Every subscriber was written by exactly one planner, the others skipped it.
    assert sorted(sid for ids in written for sid in ids) == sorted(s.id for s in subs)
    assert rows(store, outbox) == len(subs)
    # Each row reserved only its own planner's paper.
    with store.engine.connect() as conn:
        items = dict(conn.execute(select(outbox.c.subscriber_id, outbox.c["items"])).all())
        reserved = conn.execute(select(sent_papers.c.subscriber_id, sent_papers.c.paper_id)).all()
    assert len(reserved) == len(subs)
    for sid, pid in reserved:
        assert f'"{pid}"' in items[sid]
    assert all(store.get_subscriber(s.id).last_digest_at == NOW for s in subs)
    # Planning again writes nothing.
    assert store.plan_digests([PlannedDigest(subs[0].id, day, "<m@x>", [], NOW, "empty")], NOW) == []
