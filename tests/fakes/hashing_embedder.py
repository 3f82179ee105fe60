"""A deterministic stand-in for the embedding model in digest tests: bag of words, hashed.

Texts sharing words get similar vectors, which is all the ranking tests need; it loads in no
time and needs no model files. Never used outside tests.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

DIM = 256
_STOP = {"a", "an", "and", "the", "of", "for", "in", "on", "to", "with", "from", "by", "we", "is", "are"}


def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words if w not in _STOP]


def embed_texts(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for w in _words(text):
            out[i, zlib.crc32(w.encode()) % DIM] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def paper_vectors(papers) -> np.ndarray:
    return embed_texts([f"{p.title} {p.abstract}" for p in papers])
