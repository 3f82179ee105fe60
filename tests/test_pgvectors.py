"""Vector search in PostgreSQL (pgvector, HNSW): recall against exact search, filters in SQL,
removals, and the feed position shared by every process. Real PostgreSQL 16 + pgvector (pgserver).
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from paperradar.search.keys import paper_key
from paperradar.search.pgvectors import PgVectorIndex
from paperradar.store import Store

DIM = 384
N = 3000
MODEL = "test-model"


@pytest.fixture
def pg_store(postgres):
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres.psql(f"CREATE DATABASE {name};")
    s = Store(postgres.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1))
    yield s
    s.close()


def unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=-1, keepdims=True)).astype(np.float32)


def corpus(rng) -> np.ndarray:
    """Vectors in loose clusters, as paper embeddings are (uniform random vectors have no near
    neighbours worth the name)."""
    centers = rng.standard_normal((60, DIM))
    return unit(centers[rng.integers(0, 60, N)] + 0.9 * rng.standard_normal((N, DIM)))


def test_hnsw_recall_at_10_against_exact_search(pg_store):
    rng = np.random.default_rng(7)
    vecs = corpus(rng)
    index = PgVectorIndex(pg_store, MODEL, DIM)  # creates the model's HNSW index
    pg_store.put_embeddings(MODEL, [(f"p{i}", f"h{i}", v) for i, v in enumerate(vecs)])
    index.apply([], [], seq=1)
    assert len(index) == N
    queries = unit(vecs[rng.integers(0, N, 50)] + 0.5 * rng.standard_normal((50, DIM)))
    recalls = []
    for q in queries:
        truth = [pid for pid, _ in pg_store.exact_nearest_vectors(MODEL, q, 10)]
        expected = np.argsort(-(vecs @ q), kind="stable")[:10]
        assert set(truth) == {f"p{i}" for i in expected}  # the SQL's exact search is exact
        got = [h.id for h in index.search(q, 10)]
        recalls.append(len(set(got) & set(truth)) / 10)
    recall = float(np.mean(recalls))
    print(f"pgvector HNSW recall@10 over {N} vectors: {recall:.3f} (target >= 0.95)")
    assert recall >= 0.95
    with pg_store.engine.connect() as conn:  # the HNSW index is what answers
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(
            "EXPLAIN SELECT paper_id FROM embeddings WHERE model = 'test-model' "
            "ORDER BY (vec::vector(384)) <=> (SELECT vec FROM embeddings LIMIT 1)::vector(384) LIMIT 10"))
    assert "ix_embeddings_hnsw_" in plan


def test_scores_filters_exclusions_and_removals(pg_store):
    rng = np.random.default_rng(3)
    vecs = corpus(rng)[:200]
    index = PgVectorIndex(pg_store, MODEL, DIM)
    pg_store.put_embeddings(MODEL, [(f"p{i}", f"h{i}", v) for i, v in enumerate(vecs)])
    index.apply([], [], seq=5)
    q = vecs[10]
    [top] = index.search(q, 1)
    assert top.id == "p10" and top.score == pytest.approx(1.0, abs=1e-5)
    assert index.search(q, 1, exclude={"p10"})[0].id != "p10"
    # Filtered: exactly among the allowed papers, scores are cosines.
    allowed = [f"p{i}" for i in range(50, 80)]
    hits = index.search(q, 5, allowed=np.array([paper_key(p) for p in allowed]))
    exact = sorted(allowed, key=lambda p: -float(vecs[int(p[1:])] @ q))[:5]
    assert [h.id for h in hits] == exact
    assert hits[0].score == pytest.approx(float(vecs[int(exact[0][1:])] @ q), abs=1e-5)
    assert index.search(q, 5, allowed=np.zeros(0, np.int64)) == []
    got = index.vectors_of(["p1", "p2", "nope"])
    assert set(got) == {"p1", "p2"} and np.allclose(got["p1"], vecs[1])
    # A withdrawn paper leaves the search; the position reached is shared through the store.
    index.apply([], ["p10"], seq=9)
    assert index.search(q, 1)[0].id != "p10" and index.vector("p10") is None
    assert len(index) == 199 and index.seq == 9
    other = PgVectorIndex(pg_store, MODEL, DIM)  # another process's view
    assert other.seq == 9 and len(other) == 199
    other.reset()
    assert index.seq == 0


def test_one_writer_at_a_time_across_connections(pg_store):
    from paperradar.search.writelock import IndexBusy

    a, b = PgVectorIndex(pg_store, MODEL, DIM, lock_wait=0.2), PgVectorIndex(pg_store, MODEL, DIM, lock_wait=0.2)
    with a.lock.held():
        with a.lock.held():  # reentrant
            pass
        import threading

        outcome = []

        def other_writer():
            try:
                with b.lock.held():
                    outcome.append("held")
            except IndexBusy as e:
                outcome.append(str(e))

        t = threading.Thread(target=other_writer)
        t.start()
        t.join()
        assert "being written by another process" in outcome[0]
    with b.lock.held():
        pass


def test_the_newest_papers_are_scored_exactly_beside_the_graph_walk(pg_store):
    """The graph walk can miss a paper unlike its neighbours (at a million papers, 13 of 20
    fresh papers on odd topics were never found by meaning alone), so each process keeps the
    newest papers' vectors and scores them exactly: a new paper is found once it is embedded."""
    from paperradar.models import Paper

    rng = np.random.default_rng(5)
    vecs = corpus(rng)[:6]

    def publish(*numbers: int, title: str = "A paper") -> None:
        pg_store.upsert_papers([Paper(id=f"p{i}", title=f"{title} {i}", abstract="Text.") for i in numbers])
        pg_store.put_embeddings(MODEL, [(f"p{i}", f"{title}{i}", vecs[i]) for i in numbers])

    index = PgVectorIndex(pg_store, MODEL, DIM, recent=3)
    publish(0, 1, 2, 3)
    index.apply([], [], seq=pg_store.max_seq())
    index.flush()
    assert sorted(index.recent_ids) == ["p1", "p2", "p3"]  # the newest three
    top = index.search(vecs[2], 2)
    assert top[0].id == "p2" and top[0].score == pytest.approx(1.0, abs=1e-5)
    assert len({h.id for h in top}) == 2  # a paper the walk and the window both found comes once
    assert "p2" not in [h.id for h in index.search(vecs[2], 3, exclude={"p2"})]

    # Another process's view holds the same papers from its start.
    assert sorted(PgVectorIndex(pg_store, MODEL, DIM, recent=3).recent_ids) == ["p1", "p2", "p3"]

    # A newer paper pushes the oldest out; a withdrawn one leaves at once.
    publish(4)
    index.apply([], [], seq=pg_store.max_seq())
    index.flush()
    assert sorted(index.recent_ids) == ["p2", "p3", "p4"]
    pg_store.upsert_papers([Paper(id="p3", title="A paper 3, withdrawn", abstract="Text.")])
    index.apply([], ["p3"], seq=pg_store.max_seq())
    index.flush()
    assert sorted(index.recent_ids) == ["p2", "p4"]
    assert "p3" not in [h.id for h in index.search(vecs[3], 5)]

    index.reset()  # the next sync starts over, and so does the window
    index.flush()
    assert index.recent_ids == []
