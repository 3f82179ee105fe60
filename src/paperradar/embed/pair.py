"""Two models as one embedding: "all-mpnet-base-v2+all-MiniLM-L6-v2".

Each vector is the models' unit vectors side by side, divided by √2, so it has unit length and
the dot product of two such vectors is the mean of the two models' cosines. Everything that
handles one model's vectors (the vector index, pgvector, the store, re-embedding) handles the
pair unchanged, and a search scores with both models at the cost of one lookup. The two models
fail differently: MPNet reads descriptive sentences better, MiniLM keeps acronyms and exact
terms closer (docs/search.md, "Models").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .embedder import Embedder
from .weights import model_spec

SEP = "+"


def parts(model: str) -> list[str]:
    """The single models a (possibly paired) model name is made of."""
    return model.split(SEP)


def dim_of(model: str) -> int:
    """Vector length of a model or a pair (EmbedError for an unknown name)."""
    return sum(model_spec(m).dim for m in parts(model))


def combine(vectors: list[np.ndarray]) -> np.ndarray:
    """Unit vectors of each model (rows, or one vector each) → the pair's unit vectors."""
    return np.concatenate(vectors, axis=-1) / np.float32(np.sqrt(len(vectors)))


class PairEmbedder:
    """`Embedder`'s interface over several models; `encode` runs them one after the other."""

    def __init__(self, embedders: list[Embedder], name: str):
        self.parts = embedders
        self.name = name  # "a+b", or "a+b-int8" when every part is its int8 twin
        self.dim = sum(e.dim for e in embedders)

    def encode(self, texts: list[str], **kw) -> np.ndarray:
        return combine([e.encode(texts, **kw) for e in self.parts])

    def encode_query(self, text: str) -> np.ndarray:
        return combine([e.encode_query(text) for e in self.parts])

    def __repr__(self) -> str:
        return f"PairEmbedder({self.name!r}, dim={self.dim})"


def load(cache_dir: Path, model: str, *, quantized: bool = False, for_queries: bool = False,
         single=None) -> Embedder | PairEmbedder:
    """The embedder for a model or a pair (`Embedder`'s arguments); `single(model, quantized,
    for_queries)` may supply (cached) single models, else they are loaded here."""
    single = single or (lambda m, q, fq: Embedder(cache_dir, model=m, quantized=q, for_queries=fq))
    names = parts(model)
    if len(names) == 1:
        return single(model, quantized, for_queries)
    return PairEmbedder([single(m, quantized, for_queries) for m in names], model + ("-int8" if quantized else ""))
