"""Concurrent writers on one store, SQLite and PostgreSQL: the unique constraints decide.

Each test starts many threads at once (a barrier) calling the public `Store` methods, the way
several web workers or two `digest run`s would, and checks that exactly one row or exactly
`limit` successes came out and that no IntegrityError escaped.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
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


# --- processes and whole jobs: migrations, digest runs, vectors -----------------------------

def fresh_url(request, tmp_path, db: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{tmp_path}/fresh.db"
    import uuid

    server = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:16]}"
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)


def open_store(url: str) -> None:
    from paperradar.store import Store

    Store(url).close()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_processes_migrating_an_empty_database_at_once_all_start(request, tmp_path, db):
    """Without the migration lock, two processes both created alembic_version on PostgreSQL
    and one failed with UniqueViolation."""
    import multiprocessing

    from alembic.runtime.migration import MigrationContext

    from paperradar.store import Store

    url = fresh_url(request, tmp_path, db)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=open_store, args=(url,)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 4
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from paperradar.store.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    store = Store(url, migrate_schema=False)
    try:
        with store.engine.connect() as conn:
            assert list(MigrationContext.configure(conn).get_current_heads()) == ScriptDirectory.from_config(cfg).get_heads()
    finally:
        store.close()


class HashingModel:
    """The digest's embedding model, stood in for by hashed words (tests/fakes), so the runs
    below store paper vectors as the real model's would."""

    name, dim = "hashing-test", 256

    def encode(self, texts):
        from fakes.hashing_embedder import embed_texts

        return embed_texts(list(texts))


def run_digest(data_dir: str, smtp_url: str, url: str, go, out) -> None:
    """One `digest run` process (what the CLI or the worker does), started with the others."""
    from pathlib import Path

    from fakes.digest_world import settings_for
    from paperradar.digest.run import DigestService
    from paperradar.store import Store

    settings = settings_for(Path(data_dir), smtp_url=smtp_url, database_url=url)
    store = Store(url, migrate_schema=False)
    try:
        service = DigestService(settings, store, embedder=HashingModel)
        go.wait(60)
        out.put(("ok", service.run().send.sent))
    except BaseException as e:  # noqa: BLE001 - reported to the test
        out.put(("error", f"{type(e).__name__}: {e}"))
    finally:
        store.close()


def test_concurrent_digest_runs_send_each_digest_once(store, tmp_path):
    """Three `digest run` processes at once: none fails, nobody gets two mails. The losers used
    to crash storing the same new papers' vectors (duplicate key on PostgreSQL)."""
    import multiprocessing

    from fakes.digest_world import GRADIENT, OTHER, add_papers, settings_for, subscribe
    from fakes.smtp_server import FakeSMTP

    add_papers(store, "2401", GRADIENT + OTHER)
    for i in range(6):
        subscribe(store, f"reader{i}@example.com", ["gradient inversion", "protein folding"])
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    with FakeSMTP() as smtp:
        settings_for(tmp_path / "data", database_url=store.url).secret_key(store)
        procs = [ctx.Process(target=run_digest, args=(str(tmp_path / "data"), smtp.url, store.url, go, out))
                 for _ in range(3)]
        for p in procs:
            p.start()
        go.set()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(60)
        assert [r for r in results if r[0] != "ok"] == []
        assert sum(n for _, n in results) == 6
        assert sorted(m.recipient for m in smtp.received()) == sorted(f"reader{i}@example.com" for i in range(6))
    assert rows(store, outbox) == 6
    assert store.outbox_counts() == {"sent": 6}


def test_concurrent_vector_writes_of_one_paper_leave_one_row(store):
    import numpy as np

    from paperradar.store.schema import embeddings

    rng = np.random.default_rng(1)
    outcomes = race(WORKERS, lambda i: store.put_embeddings(
        "m", [(f"p{j}", f"h{i}", rng.standard_normal(8).astype(np.float32)) for j in range(5)][::(1 if i % 2 else -1)]))
    assert errors(outcomes) == []
    assert rows(store, embeddings) == 5
