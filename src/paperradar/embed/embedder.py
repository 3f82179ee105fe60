"""`Embedder`: text in, unit-length float32 vectors out, on CPU with onnxruntime.

What the rest of paperradar calls to embed papers (`encode`) and search queries (`encode_query`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort

from .cache import cached_model
from .errors import EmbedError
from .tokenizer import load_tokenizer, pad_batch
from .weights import locate

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def paper_text(title: str, abstract: str) -> str:
    """What we embed for a paper.

    Title first: the model keeps only the first 256 word pieces, and the title is the densest
    statement of what a paper is about, so it must never be the part that gets cut. ". " joins
    them as one sentence would, which is how the model saw text in training.
    """
    title, abstract = title.strip(), abstract.strip()
    if not abstract:
        return title
    if not title:
        return abstract
    return f"{title.rstrip('.')}. {abstract}"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset / container CPU pinning
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Embedder:
    """One embedding model, loaded from the installed package, run from the cached .onnx.

    cache_dir: where built graphs are kept (the data dir's models/ folder).
    quantized: use the int8 graph (faster, slightly different vectors: `name` differs so an
    index records which one built it).
    threads: onnxruntime intra-op threads; default all available cores.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        model: str = DEFAULT_MODEL,
        quantized: bool = False,
        threads: int | None = None,
    ) -> None:
        files = locate(model)
        weights_sha256 = files.verify()
        self.name = model + ("-int8" if quantized else "")
        self.dim = files.spec.dim
        self.model_path = cached_model(Path(cache_dir), files, weights_sha256, quantized=quantized)
        self.threads = threads or available_cores()
        self._tokenizer = load_tokenizer(files)
        self._session = _open_session(self.model_path, self.threads)

    def encode(
        self,
        texts: list[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors, row i for texts[i]; progress(n) after each batch."""
        _check_texts(texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        ids = [e.ids for e in encodings]
        # Similar lengths side by side, so each batch pads little; rows go back by index.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._run(*pad_batch([ids[i] for i in rows]))
            if progress is not None:
                progress(len(rows))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """(dim,) float32 unit vector for one text: no sorting, no padding, no batch thread pool."""
        _check_texts([text])
        ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
        return self._run(ids, np.ones_like(ids))[0]

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        (vectors,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return vectors

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dim={self.dim}, threads={self.threads}, model_path={str(self.model_path)!r})"


def _check_texts(texts) -> None:
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError(f"texts must be a list of str, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")


def _open_session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: the quantized graph triggers harmless warnings
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise EmbedError(f"onnxruntime cannot load {path}: {str(exc).splitlines()[0]}") from exc
