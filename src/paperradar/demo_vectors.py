"""Embeddings of the bundled demo corpus, shipped so `make run` starts searching by meaning at once.

They are produced by our own embedder (`make demo-vectors` rebuilds them) and keyed by content
hash, so the indexer uses them like any other cached vector: only for exactly the same text and
the same model.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np


def path_for(model: str) -> Path:
    return Path(str(resources.files("paperradar") / "demo")) / f"vectors-{model}.npz"


@lru_cache(maxsize=4)
def load(model: str) -> dict[str, np.ndarray]:
    """content hash → vector, or {} when none were shipped for this model."""
    path = path_for(model)
    if not path.exists():
        return {}
    with np.load(path) as data:
        return dict(zip(data["hashes"].tolist(), data["vectors"].astype(np.float32)))


def build(model: str) -> Path:
    """Embed the demo corpus with `model` and write the file shipped in the package."""
    from .embed import Embedder, paper_text
    from .normalize import normalize_paper
    from .radar import demo_files
    from .sources.pages import read_page
    import tempfile

    papers = {}
    for f in demo_files():
        for p in read_page(f).papers:
            p = normalize_paper(p)
            papers.setdefault(p.content_hash(), p)
    with tempfile.TemporaryDirectory() as cache:
        vectors = Embedder(Path(cache), model=model).encode([paper_text(p.title, p.abstract) for p in papers.values()])
    out = path_for(model)
    np.savez_compressed(out, hashes=np.array(list(papers)), vectors=vectors.astype(np.float32))
    return out


if __name__ == "__main__":
    import sys

    print(build(sys.argv[1] if len(sys.argv) > 1 else "all-MiniLM-L6-v2"))
