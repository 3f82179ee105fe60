"""The store, on a real SQLite file and on a real PostgreSQL: upserts are idempotent and merge duplicates."""

import datetime as dt
import json
import sqlite3

import numpy as np
import pytest
from sqlalchemy import text

from paperradar.models import Paper, Sighting
from paperradar.normalize import normalize_paper
from paperradar.store import PaperRow, PlannedDigest, Store, SubscriberExists, paper_row


def paper(title="Attention Is All You Need", **kw) -> Paper:
    return normalize_paper(Paper(title=title, abstract=kw.pop("abstract", "Transformers."), **kw))


def test_sqlite_file_in_wal_mode(tmp_path):
    Store(f"sqlite:///{tmp_path}/p.db").close()
    mode = sqlite3.connect(tmp_path / "p.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def raw_rows(store: Store) -> list:
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT * FROM papers ORDER BY id")).all()


def test_reingesting_the_same_input_changes_nothing(store):
    batch = [paper(sightings=[Sighting("pages", "a.txt", 1)]), paper("Other", sightings=[Sighting("pages", "a.txt", 2)])]
    first = store.upsert_papers(batch)
    before = raw_rows(store)
    again = store.upsert_papers(batch)
    after = raw_rows(store)
    assert (first.added, again.added, again.updated, again.unchanged, again.new_sightings) == (2, 0, 0, 2, 0)
    assert before == after


def test_same_paper_on_two_pages_is_one_paper_seen_twice(store):
    r = store.upsert_papers([paper(sightings=[Sighting("pages", "a.txt", 3, "Mar 11")]),
                             paper("attention is all you NEED", sightings=[Sighting("pages", "b.txt", 7)])])
    assert r.added == 1 and r.unchanged == 1
    stored = store.get_paper(r.ids[0])
    assert [(s.ref, s.position) for s in stored.sightings] == [("a.txt", 3), ("b.txt", 7)]


def test_arxiv_record_enriches_a_listing_page_paper(store):
    listed = store.upsert_papers([paper()]).ids[0]
    r = store.upsert_papers([paper(arxiv_id="1706.03762v5", authors=["Ashish Vaswani"],
                                   categories=["cs.CL"], published=dt.date(2017, 6, 12))])
    assert r.updated == 1 and r.ids == [listed]  # the id stays stable
    p = store.get_paper(listed)
    assert (p.arxiv_id, p.version, p.authors, p.published) == ("1706.03762", 5, ["Ashish Vaswani"], dt.date(2017, 6, 12))
    assert store.get_paper("1706.03762").id == listed  # found by arXiv id too


def test_listing_page_never_overwrites_arxiv_metadata(store):
    store.upsert_papers([paper(arxiv_id="1706.03762", version=2, abstract="The real abstract.")])
    r = store.upsert_papers([paper(abstract="A shortened listing abstract.")])
    assert r.unchanged == 1
    assert store.get_paper("1706.03762").abstract == "The real abstract."


def test_changes_bump_seq_for_the_indexes(store):
    store.upsert_papers([paper(), paper("Other")])
    seq = store.max_seq()
    store.upsert_papers([paper(abstract="Transformers, revised.", version=2)])
    changed = list(store.papers_changed_since(seq))
    assert [p.abstract for _, p in changed] == ["Transformers, revised."]


def test_a_page_of_an_import_commits_with_its_checkpoint_and_withdrawals(store):
    store.upsert_papers([paper("Old", arxiv_id="2001.00001")])
    result, gone = store.apply_batch([paper("New", arxiv_id="2001.00002")], withdrawn=["2001.00001"],
                                     checkpoint=("harvest:test", "token-2"), bulk=True)
    assert (result.added, gone) == (1, 1)
    assert store.get_paper("2001.00001").withdrawn and not store.get_paper("2001.00002").withdrawn
    assert store.get_meta("harvest:test") == "token-2"


def test_prepared_rows_store_and_merge_like_papers(store):
    # A snapshot parser process hands over PaperRows; they dedupe against Papers and each other.
    listed = store.upsert_papers([paper("Gödel numbering revisited", authors=["Kurt Gödel"])]).ids[0]
    arxiv = paper("Gödel Numbering, Revisited", arxiv_id="2001.00009", version=2, authors=["Kurt Gödel", "A \"B\""])
    fresh = paper("Fresh", arxiv_id="2001.00010")
    rows = [PaperRow(paper_row(p), p.sightings) for p in (arxiv, fresh, fresh)]
    r = store.upsert_papers(rows)
    assert (r.added, r.updated, r.unchanged) == (1, 1, 1) and r.ids == [listed, "2001.00010", "2001.00010"]
    assert store.get_paper(listed).authors == ["Kurt Gödel", 'A "B"']
    stored = raw_rows(store)
    row = next(row for row in stored if row[0] == listed)
    assert json.dumps(["Kurt Gödel", 'A "B"'], ensure_ascii=False) in row
    assert store.upsert_papers(rows).unchanged == 3 and raw_rows(store) == stored


def test_embeddings_are_found_by_content_hash_per_model(store):
    pid = store.upsert_papers([paper()]).ids[0]
    h = store.get_paper(pid).content_hash()
    v = np.arange(384, dtype=np.float32) / 384
    store.put_embeddings("m1", [(pid, h, v)])
    assert np.array_equal(store.embeddings_by_hash("m1", [h])[h], v)
    assert store.embeddings_by_hash("m2", [h]) == {}
    assert np.array_equal(store.get_embedding("m1", pid), v)


def test_putting_a_stored_vector_again_leaves_its_row_alone(store):
    """An index rebuild puts every paper's vector again; an unchanged row is not rewritten (on
    PostgreSQL a rewrite is a new tuple to insert into the HNSW graph: its `xmin` would move),
    and a new text's vector replaces the old one."""
    pid = store.upsert_papers([paper()]).ids[0]
    h = store.get_paper(pid).content_hash()
    v = np.arange(384, dtype=np.float32) / 384
    store.put_embeddings("m1", [(pid, h, v)])

    def row_version():
        if not store.is_postgresql:
            return None
        with store.engine.connect() as conn:
            return conn.execute(text("SELECT xmin::text FROM embeddings WHERE paper_id = :p"), {"p": pid}).scalar()

    before = row_version()
    store.put_embeddings("m1", [(pid, h, v)])
    assert row_version() == before
    store.put_embeddings("m1", [(pid, "another text", v[::-1].copy())])
    assert np.array_equal(store.get_embedding("m1", pid), v[::-1])
    assert store.embeddings_by_hash("m1", ["another text", h]).keys() == {"another text"}


def test_runs_are_recorded_newest_first(store):
    first = store.start_run("update")
    store.finish_run(first, "ok", {"added": 3})
    second = store.start_run("update")
    store.finish_run(second, "failed", {}, error="upstream 503")
    runs = store.last_runs(job="update")
    assert [(r.status, r.error) for r in runs] == [("failed", "upstream 503"), ("ok", None)]


def test_subscribers_and_rate_limits(store):
    now = dt.datetime(2026, 11, 22, 8, 0)
    s = store.add_subscriber("a@example.org", now=now, topics=["diffusion"])
    with pytest.raises(SubscriberExists):
        store.add_subscriber("a@example.org", now=now)
    assert store.confirm_subscriber(s.id, now).status == "active"
    assert [x.email for x in store.list_subscribers("active")] == ["a@example.org"]
    hits = [store.hit_rate_limit("ip:1", limit=2, window=dt.timedelta(minutes=1), now=now) for _ in range(3)]
    assert hits == [True, True, False]
    assert store.remove_subscriber("a@example.org") and store.get_subscriber(s.id) is None


def test_a_planned_digest_is_claimed_once_and_sent(store):
    now = dt.datetime(2026, 11, 22, 8, 0)
    s = store.add_subscriber("a@example.org", now=now)
    store.confirm_subscriber(s.id, now)
    day = now.date()
    store.plan_digests([PlannedDigest(s.id, day, "<m1@example.org>", [{"id": "p1", "score": 1.0, "reasons": []}], now)], now)
    claimed = store.claim_outbox(up_to=day, now=now, owner="worker-1")
    assert [(c.subscriber.email, c.items[0]["id"]) for c in claimed] == [("a@example.org", "p1")]
    assert store.claim_outbox(up_to=day, now=now, owner="worker-2") == []  # nobody sends it twice
    store.outbox_sent(claimed[0].id, now, subscriber_id=s.id)
    assert store.outbox_counts(day) == {"sent": 1}


def test_a_new_sqlite_file_uses_16k_pages(tmp_path):
    Store(f"sqlite:///{tmp_path}/p.db").close()
    assert sqlite3.connect(tmp_path / "p.db").execute("PRAGMA page_size").fetchone()[0] == 16384


def test_every_pooled_connection_serves_the_request_threads_with_the_pragmas(store):
    """45 connections held at once (the web app's 40 request threads and more): none waits for
    the pool, and on SQLite each carries the WAL, busy-timeout and cache pragmas."""
    from contextlib import ExitStack

    from paperradar.store.db import POOL_OVERFLOW, POOL_SIZE

    assert store.engine.pool.size() == POOL_SIZE and POOL_SIZE >= 40
    with ExitStack() as stack:
        conns = [stack.enter_context(store.engine.connect()) for _ in range(POOL_SIZE + POOL_OVERFLOW - 5)]
        if store.engine.dialect.name == "sqlite":
            for conn in conns:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
                assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -64 * 1024
        else:
            assert len({conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() for conn in conns}) == len(conns)
