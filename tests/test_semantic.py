"""Search by meaning: hybrid is the default, similar papers, restarts, and the guard against mixed vectors
(changing the model: test_reembed.py)."""

import json

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.models import Paper
from paperradar.radar import Radar
from paperradar.search.vectors import ReindexNeeded, VectorIndex

runner = CliRunner()


def test_natural_language_query_finds_gradient_inversion(demo_radar):
    q = "can a server recover the private images a client trained on from the model updates it uploads"
    titles = [h.paper.title.lower() for h in demo_radar.search.search(q, limit=5).hits]
    assert any("gradient" in t or "inversion" in t or "leakage" in t for t in titles[:3]), titles


def test_a_terse_query_keeps_its_keywords_weight(demo_radar):
    # four content words: a term query, not a description, so keywords weigh 0.4 in the fusion
    # (docs/search.md); with 0.1 the embedding read it as image reconstruction
    hits = demo_radar.search.search("reconstructing images from shared gradients", limit=3).hits
    assert all("gradient" in h.paper.title.lower() for h in hits[:2]), [h.paper.title for h in hits]


def test_an_acronym_query_puts_the_papers_naming_it_first(demo_radar):
    # An embedding model places "RLHF" near any reinforcement learning paper; a query naming an
    # acronym weighs keywords 0.5 whatever its length (docs/search.md), so the two demo papers
    # that name it come before the reinforcement learning papers that do not.
    hits = demo_radar.search.search("RLHF", limit=2).hits
    assert all("RLHF" in h.paper.title + h.paper.abstract for h in hits), [h.paper.title for h in hits]


def test_hybrid_is_the_default_and_modes_differ(demo_radar):
    q = "synthesizing a tiny set of training images that matches training on the full dataset"
    default = [h.paper.id for h in demo_radar.search.search(q, limit=10).hits]
    hybrid = [h.paper.id for h in demo_radar.search.search(q, limit=10, mode="hybrid").hits]
    lexical = [h.paper.id for h in demo_radar.search.search(q, limit=10, mode="lexical").hits]
    assert default == hybrid and hybrid != lexical


def test_similar_never_returns_the_paper_itself(demo_radar):
    hit = demo_radar.search.search("knowledge distillation", limit=1).hits[0]
    similar = demo_radar.search.similar(hit.paper, limit=10)
    assert len(similar) == 10
    assert hit.paper.id not in {h.paper.id for h in similar}
    assert [h.score for h in similar] == sorted((h.score for h in similar), reverse=True)


def test_similar_excludes_other_versions_of_the_paper(settings):
    r = Radar(settings)
    base = dict(abstract="We distill a large teacher network into a small student network.", authors=["A. B"])
    r.store.upsert_papers([
        Paper(id="2001.00001", arxiv_id="2001.00001", version=1, title="Distilling students", **base),
        Paper(id="t-listing", title="Distilling Students", **base),  # the same work seen on a listing
        Paper(id="2001.00002", arxiv_id="2001.00002", title="Teachers and students in distillation",
              abstract="Knowledge distillation from teacher to student."),
        Paper(id="2001.00003", arxiv_id="2001.00003", title="Protein folding", abstract="Proteins fold."),
    ])
    r.store.upsert_papers([Paper(id="2001.00001", arxiv_id="2001.00001", version=2, title="Distilling students",
                                 abstract=base["abstract"] + " Revised.")])
    r.sync_indexes()
    p = r.store.get_paper("2001.00001")
    ids = [h.paper.id for h in r.search.similar(p, limit=5)]
    assert ids[0] == "2001.00002" and "2001.00001" not in ids and "t-listing" not in ids
    r.close()


def test_vectors_survive_a_restart(settings):
    r = Radar(settings)
    r.load_demo_if_empty()
    r.sync_indexes()
    before = [h.paper.id for h in r.search.search("normalizing flows", limit=10).hits]
    r.close()
    again = Radar(settings)
    assert again.pending_index_changes() == 0 and len(again.vectors) == 1016
    assert [h.paper.id for h in again.search.search("normalizing flows", limit=10).hits] == before
    again.close()


def test_vectors_of_another_model_are_never_mixed(settings, tmp_path):
    r = Radar(settings)
    r.load_demo_if_empty()
    r.sync_indexes()
    r.close()
    folder = settings.data_dir / "index" / "vectors" / "all-MiniLM-L6-v2"
    with pytest.raises(ReindexNeeded, match="built with model 'all-MiniLM-L6-v2'.*paperradar reindex"):
        VectorIndex(folder, "another-model", 384)
    # A folder whose files say another model made them: search says so and falls back to keywords.
    state = folder / "state.json"
    state.write_text(json.dumps({**json.loads(state.read_text()), "model": "old-model"}))
    stale = Radar(settings)
    assert "old-model" in stale.vector_problem
    results = stale.search.search("normalizing flows", limit=3)
    assert results.mode == "lexical" and "unavailable" in results.notice
    stale.close()
    fixed = runner.invoke(app, ["-d", str(settings.data_dir), "reindex"])
    assert fixed.exit_code == 0, fixed.output
    again = Radar(settings)
    assert again.vector_problem is None and len(again.vectors) == 1016
    again.close()


def test_cli_modes_and_similar(tmp_path, seed_files):
    d = str(tmp_path)
    runner.invoke(app, ["-d", d, "ingest", "pages", *map(str, seed_files)])
    for mode in ("hybrid", "lexical", "vector"):
        r = runner.invoke(app, ["-d", d, "search", "neural architecture search", "--mode", mode, "--json", "-n", "5"])
        assert r.exit_code == 0 and len(json.loads(r.stdout)) == 5
    bad = runner.invoke(app, ["-d", d, "search", "x", "--mode", "fuzzy"])
    assert bad.exit_code == 1 and "--mode must be one of" in bad.output
    first = json.loads(runner.invoke(app, ["-d", d, "search", "muP", "--json", "-n", "1"]).stdout)[0]
    sim = json.loads(runner.invoke(app, ["-d", d, "similar", first["id"], "--json", "-n", "3"]).stdout)
    assert len(sim) == 3 and first["id"] not in [s["id"] for s in sim]


def test_ann_index_recovers_rows_added_after_its_last_save(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((300, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = VectorIndex(tmp_path / "v", "m", 384, ann_threshold=200)
    index.apply([(f"p{i}", v) for i, v in enumerate(vecs[:250])], [], seq=250)  # crosses: builds, saves
    assert index.ann is not None
    index.apply([(f"p{i}", v) for i, v in enumerate(vecs[250:], 250)], [], seq=300)  # killed before flush
    again = VectorIndex(tmp_path / "v", "m", 384, ann_threshold=200)
    assert again.ann.ntotal == 300 and again.seq == 300
    assert again.search(vecs[299], 1)[0].id == "p299"


@pytest.mark.parametrize("ann_threshold", [1_000, 200])
def test_a_hit_carries_the_vector_it_was_scored_with(tmp_path, ann_threshold):
    # exact search below the threshold, the ANN and its exact rerank above it
    import numpy as np

    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((300, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = VectorIndex(tmp_path / "v", "m", 384, ann_threshold=ann_threshold)
    index.apply([(f"p{i}", v) for i, v in enumerate(vecs)], [], seq=300)
    assert (index.ann is not None) == (ann_threshold < 300)
    hits = index.search(vecs[7], 20)
    stored = index.vectors_of([h.id for h in hits])
    for h in hits:
        assert np.array_equal(h.vector, stored[h.id]) and abs(float(h.vector @ vecs[7]) - h.score) < 1e-5


def test_queries_use_the_int8_twin_of_the_papers_model_unless_told_not_to(demo_radar, settings):
    # fp32 papers, int8 queries (the default): same vector space, 3x faster per query
    assert demo_radar.embedder().name == "all-MiniLM-L6-v2"
    query_model = demo_radar.query_embedder()
    assert query_model.name == "all-MiniLM-L6-v2-int8" and query_model.model_path.name.endswith("-int8q.onnx")
    text = "recovering private training images from shared gradients"
    assert float(query_model.encode_query(text) @ demo_radar.embedder().encode_query(text)) > 0.98
    exact = Radar(settings.model_copy(update={"query_int8": False}))
    assert exact.query_embedder() is exact.embedder()


def test_a_query_is_embedded_once_for_all_its_pages(demo_radar):
    svc = demo_radar.search
    before = svc.query_vector.cache_info()
    first = svc.search("message passing networks that predict molecular properties", limit=5)
    second = svc.search("message passing networks that predict molecular properties", limit=5, offset=5)
    after = svc.query_vector.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    assert first.hits and not {h.paper.id for h in first.hits} & {h.paper.id for h in second.hits}
