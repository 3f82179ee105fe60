"""Clustering unit-length embeddings: k-means (faiss, spherical, fixed seed) at two levels.

Fine topics are k-means clusters of the papers; broad areas are k-means clusters of the fine
topics' centroids, so every topic belongs to exactly one area. k-means rather than HDBSCAN: every
paper gets a topic (a radar has no "noise" papers to hide), it needs no extra dependency (faiss
is already ours), and it fits 100,000 papers in seconds on two cores (bench/topics.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import faiss
import numpy as np

SEED = 1234
MIN_PAPERS = 30  # fewer papers make no useful map: the pages say so
PAPERS_PER_TOPIC = 60
MAX_TOPICS = 400
SAMPLE = 200_000  # k-means trains on at most this many papers; every paper is then assigned


@dataclass
class Clusters:
    centroids: np.ndarray  # (k, d) unit vectors
    labels: np.ndarray  # (n,) topic index of each paper
    similarity: np.ndarray  # (n,) cosine of each paper to its centroid


def topic_count(n: int, per_topic: int = PAPERS_PER_TOPIC) -> int:
    """Fine topics for n papers: about one per `per_topic` papers, at least 2, at most 400."""
    return int(min(MAX_TOPICS, max(2, round(n / per_topic))))


def area_count(k: int) -> int:
    """Broad areas for k topics: about 1.5·√k, between 2 and 24 (a map legend stays readable)."""
    return int(min(24, max(2, round(1.5 * math.sqrt(k)))))


def normalize(vectors: np.ndarray) -> np.ndarray:
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


def kmeans(vectors: np.ndarray, k: int, *, seed: int = SEED, niter: int = 25) -> Clusters:
    """Spherical k-means; trains on a fixed-seed sample when there are more than SAMPLE rows."""
    x = normalize(vectors)
    k = min(k, len(x))
    train = x
    if len(x) > SAMPLE:
        train = x[np.random.default_rng(seed).choice(len(x), SAMPLE, replace=False)]
    km = faiss.Kmeans(x.shape[1], k, niter=niter, seed=seed, spherical=True, verbose=False,
                      min_points_per_centroid=1, max_points_per_centroid=max(256, len(train) // k + 1))
    km.train(train)
    return Clusters(km.centroids.copy(), *assign(km.centroids, x))


def assign(centroids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nearest centroid, cosine to it) of each vector: how new papers join existing topics."""
    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(normalize(centroids))
    sims, labels = index.search(normalize(vectors), 1)
    return labels[:, 0].astype(np.int64), sims[:, 0]
