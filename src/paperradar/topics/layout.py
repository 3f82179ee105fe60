"""The 2D map: topics placed by the similarity of their centroids, papers around their topic.

Topic centroids go through classical MDS (the two leading eigenvectors of the double-centred
squared cosine distances), so similar topics sit near each other. Each paper is then placed at
its topic's point plus its own coordinates on the topic's two main axes (a per-topic PCA),
scaled to the topic's share of the map: a topic is a cloud whose size follows its paper count.
Everything is linear algebra on a few hundred centroids plus one projection per paper, so a
million papers lay out in seconds, and the same clusters give the same map.
"""

from __future__ import annotations

import numpy as np


def mds(centroids: np.ndarray) -> np.ndarray:
    """(k, 2) coordinates in [-1, 1] whose distances follow the centroids' cosine distances."""
    k = len(centroids)
    if k == 1:
        return np.zeros((1, 2))
    d2 = np.clip(2 - 2 * centroids @ centroids.T, 0, None)  # squared Euclidean distance of unit vectors
    j = np.eye(k) - 1.0 / k
    b = -0.5 * j @ d2 @ j
    vals, vecs = np.linalg.eigh(b)
    top = np.argsort(vals)[::-1][:2]
    xy = vecs[:, top] * np.sqrt(np.maximum(vals[top], 1e-12))
    xy = xy * np.sign(xy[np.argmax(np.abs(xy), axis=0), [0, 1]])  # a fixed orientation
    return xy / max(np.abs(xy).max(), 1e-12)


def place(vectors: np.ndarray, labels: np.ndarray, topic_xy: np.ndarray) -> np.ndarray:
    """(n, 2) paper coordinates: each topic's cloud around its point, sized by its papers."""
    n = len(vectors)
    out = np.zeros((n, 2), dtype=np.float32)
    k = len(topic_xy)
    # a topic's cloud radius: its share of the map's area, and never more than half the gap to
    # its nearest neighbour topic, so clouds stay apart
    gaps = np.full(k, 0.5)
    if k > 1:
        dist = np.linalg.norm(topic_xy[:, None] - topic_xy[None], axis=2) + np.eye(k) * 9
        gaps = dist.min(axis=1) / 2
    counts = np.bincount(labels, minlength=k)
    for t in range(k):
        members = np.flatnonzero(labels == t)
        if not len(members):
            continue
        radius = min(gaps[t], 0.6 * np.sqrt(counts[t] / n) + 0.02)
        local = _axes(vectors[members])
        out[members] = topic_xy[t] + radius * local
    return out


def _axes(v: np.ndarray) -> np.ndarray:
    """Members' coordinates on their cloud's two main axes (PCA), within the unit disc.

    From the eigenvectors of the smaller of the Gram (members × members) and covariance
    (dims × dims) matrices: the same axes as an SVD, at a fraction of its cost for the few dozen
    members of a typical topic."""
    if len(v) < 3:
        return np.zeros((len(v), 2))
    centred = (v - v.mean(axis=0)).astype(np.float64)
    if len(v) <= v.shape[1]:
        vals, vecs = np.linalg.eigh(centred @ centred.T)
        xy = vecs[:, -2:][:, ::-1] * np.sqrt(np.maximum(vals[-2:][::-1], 0))
    else:
        _, vecs = np.linalg.eigh(centred.T @ centred)
        xy = centred @ vecs[:, -2:][:, ::-1]
    xy = xy * np.where(xy[np.argmax(np.abs(xy), axis=0), [0, 1]] < 0, -1, 1)  # a fixed orientation
    r = np.linalg.norm(xy, axis=1).max()
    return xy / max(r, 1e-12)
