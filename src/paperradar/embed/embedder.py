"""`Embedder`: text in, unit-length float32 vectors out, on CPU with onnxruntime.

What the rest of paperradar calls to embed papers (`encode`) and search queries (`encode_query`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort

from .cache import cached_model
from .errors import EmbedError
from .tokenizer import load_tokenizer, pad_batch, pad_id
from .weights import installed

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def paper_text(title: str, abstract: str) -> str:
    """What we embed for a paper.

    Title first: the model keeps only the first 256 (MiniLM) or 384 (MPNet) word pieces, and the title is the densest
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

    cache_dir: where built graphs are kept (the data dir's models/ folder), and a model shipped
    as a split zip is assembled (weights.py).
    quantized: use the int8 graph (faster, slightly different vectors: `name` differs so an
    index records which one built it).
    for_queries: with `quantized`, the int8 graph made for embedding queries beside fp32 papers
    (for MiniLM: every MatMul in int8; cache.py). Never for papers.
    threads: how many batches `encode` runs at once; default all available cores.

    Each run uses one core (onnxruntime's own thread pool is off) and `encode` runs `threads`
    of them side by side. On 2 cores that embedded abstracts 1.2-1.5x faster than one run
    spread over both cores, whose per-operator hand-offs cost more than they save at these
    matrix sizes; and a query embedded on the calling thread leaves the other core free for the
    keyword search that runs beside it.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        model: str = DEFAULT_MODEL,
        quantized: bool = False,
        for_queries: bool = False,
        threads: int | None = None,
    ) -> None:
        files, weights_sha256 = installed(model, Path(cache_dir))
        self.name = model + ("-int8" if quantized else "")
        self.dim = files.spec.dim
        self.model_path = cached_model(Path(cache_dir), files, weights_sha256, quantized=quantized,
                                       for_queries=for_queries)
        self.threads = threads or available_cores()
        self._tokenizer = load_tokenizer(files)
        self._pad_id = pad_id(files)
        self._session = _open_session(self.model_path)

    def encode(
        self,
        texts: list[str],
        *,
        batch_tokens: int = 256,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors, row i for texts[i]; progress(n) after each batch.

        Texts are sorted by length and batched up to `batch_tokens` padded tokens: a long
        abstract runs alone (no padding at all; measured fastest), a dozen titles together.
        """
        _check_texts(texts)
        if batch_tokens < 1:
            raise ValueError(f"batch_tokens must be >= 1, got {batch_tokens}")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self._tokenizer.encode_batch(texts)]

        def run(rows: list[int]) -> int:
            out[rows] = self._run(*pad_batch([ids[i] for i in rows], self._pad_id))  # rows are disjoint
            return len(rows)

        batches = _length_batches(ids, batch_tokens)
        with ThreadPoolExecutor(min(self.threads, len(batches)), thread_name_prefix="embed") as pool:
            for done in pool.map(run, batches):
                if progress is not None:
                    progress(done)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """(dim,) float32 unit vector for one text, computed on the calling thread."""
        _check_texts([text])
        ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
        return self._run(ids, np.ones_like(ids))[0]

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        # onnxruntime sessions may be run from several threads at once.
        (vectors,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return vectors

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dim={self.dim}, threads={self.threads}, model_path={str(self.model_path)!r})"


def _length_batches(ids: list[list[int]], batch_tokens: int) -> list[list[int]]:
    """Indexes into ids, shortest first, grouped so each padded batch stays within batch_tokens."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(ids)), key=lambda i: len(ids[i])):
        # Sorted ascending, so ids[i] is the longest the batch would hold: its padded width.
        if current and (len(current) + 1) * len(ids[i]) > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _check_texts(texts) -> None:
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError(f"texts must be a list of str, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")


def _open_session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # runs on the calling thread: see Embedder
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: the quantized graph triggers harmless warnings
    try:
        # onnxruntime would merge each residual Add + LayerNormalization into its
        # SkipLayerNormalization kernel, which measured 6x slower than the two ops it replaces
        # (onnxruntime 1.31, 2 AMD EPYC cores; bench/embed.py: int8 51.6 -> 56.8 abstracts/s).
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=["SkipLayerNormFusion"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise EmbedError(f"onnxruntime cannot load {path}: {str(exc).splitlines()[0]}") from exc
