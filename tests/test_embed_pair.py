"""Two models as one embedding: vectors side by side, so one lookup scores with both."""

import numpy as np
import pytest

from conftest import make_settings
from paperradar.embed import EmbedError, pair
from paperradar.radar import Radar

PAIR = "all-mpnet-base-v2+all-MiniLM-L6-v2"


def test_a_pair_vector_has_unit_length_and_scores_the_mean_of_both_cosines(tmp_path):
    mpnet, minilm = pair.parts(PAIR)
    both = pair.load(tmp_path, PAIR)
    texts = ["Gradient inversion attacks reconstruct training images from shared gradients.",
             "Recovering private client data from federated model updates."]
    a, b = both.encode(texts)
    assert both.dim == 768 + 384 and a.shape == (1152,)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    single = [both.parts[0].encode(texts), both.parts[1].encode(texts)]
    assert float(a @ b) == pytest.approx(np.mean([float(v[0] @ v[1]) for v in single]), abs=1e-5)
    q = both.encode_query("gradient inversion")
    assert q.shape == (1152,) and float(q @ a) > float(q @ b)


def test_an_unknown_model_in_a_pair_is_one_clear_error():
    with pytest.raises(EmbedError, match="unknown embedding model 'no-such-model'"):
        pair.dim_of("all-MiniLM-L6-v2+no-such-model")


def test_the_demo_serves_a_pair_from_the_shipped_vectors_of_both(tmp_path):
    r = Radar(make_settings(tmp_path / "data", embed_model=PAIR))
    try:
        r.load_demo_if_empty()
        r.sync_indexes()  # no model runs: both models' vectors ship with the demo
        assert r.active == PAIR and len(r.vectors) == 1016 and r.vectors.dim == 1152
        hit = r.search.search("distilling a dataset into a few synthetic images", limit=3, mode="vector").hits
        assert any("distill" in h.paper.title.lower() for h in hit)
        assert len(r.search.similar(hit[0].paper, limit=5)) == 5
    finally:
        r.close()
