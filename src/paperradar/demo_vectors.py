"""Embeddings of the bundled demo corpus, shipped so `make run` starts searching by meaning at once.

The corpus is the listing pages plus four weeks of Hugging Face Daily Papers (docs/listings.md).
They are produced by our own embedder (`make demo-vectors` rebuilds them) and keyed by content
hash, so the indexer uses them like any other cached vector: only for exactly the same text and
the same model.
"""

from __future__ import annotations

import os

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np


def path_for(model: str) -> Path:
    return Path(str(resources.files("paperradar") / "demo")) / f"vectors-{model}.npz"


@lru_cache(maxsize=4)
def load(model: str) -> dict[str, np.ndarray]:
    """content hash → vector, or {} when none were shipped for this model (for a pair of models,
    both models' vectors combined: embed/pair.py)."""
    from .embed import pair

    if len(names := pair.parts(model)) > 1:
        each = [load(m) for m in names]
        return {h: pair.combine([vs[h] for vs in each]) for h in each[0] if all(h in vs for vs in each[1:])}
    path = path_for(model)
    if not path.exists():
        return {}
    with np.load(path) as data:
        return dict(zip(data["hashes"].tolist(), data["vectors"].astype(np.float32)))


def build(model: str) -> Path:
    """Embed the demo corpus with `model` and write the file shipped in the package.

    The corpus is loaded into a scratch store exactly as `Radar.load_demo_if_empty` loads it
    (pages, then Daily Papers), and the papers are read back from there, so the content hashes
    are those the indexer will look up, merges between the two sources included."""
    import tempfile

    from .embed import Embedder, paper_text
    from .radar import load_demo
    from .reembed import is_int8, model_of
    from .store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/demo.db")
        try:
            load_demo(store)
            papers = {}
            for _, p in store.papers_changed_since(0):
                papers.setdefault(p.content_hash(), p)
        finally:
            store.close()
        texts = [paper_text(p.title, p.abstract) for p in papers.values()]
        models = Path(os.environ.get("PAPERRADAR_MODELS_DIR") or Path(tmp) / "models")
        vectors = Embedder(models, model=model_of(model), quantized=is_int8(model)).encode(texts)
    out = path_for(model)
    # float16 halves the file (load() widens it back); cosine to the float32 vectors > 0.99999.
    dtype = np.float32 if model == "all-MiniLM-L6-v2" else np.float16  # MiniLM's file predates this
    np.savez_compressed(out, hashes=np.array(list(papers)), vectors=vectors.astype(dtype))
    return out


if __name__ == "__main__":
    import sys

    print(build(sys.argv[1] if len(sys.argv) > 1 else "all-MiniLM-L6-v2"))
