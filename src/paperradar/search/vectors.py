"""The vector index: paper embeddings on disk, searched exactly or through a faiss ANN index.

Files in its folder: `vectors.f32` (rows of float32, append-only), `ids.txt` (the paper id of
each row), `deleted.json` (rows superseded by a newer vector or withdrawn), `ann.faiss` (only
above `ann_threshold` rows) and `state.json` (model, dim, store seq, kind). Rows are never
rewritten: a changed paper gets a new row and its old row is marked deleted, so an ANN index
can simply append. The state records which model built the vectors; opening the index with
another model raises `ReindexNeeded` rather than mixing vectors.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ANN_SPEC = "HNSW32,SQ8"  # faiss index_factory string; SQ8 keeps 1M x 384 dims in ~400 MB
ANN_SEARCH = "efSearch=96"
ANN_THRESHOLD = 200_000  # below this, exact search is fast enough and exactly right


class ReindexNeeded(RuntimeError):
    """The vectors on disk were built by another model (or are unreadable)."""


@dataclass
class VectorHit:
    id: str
    score: float


class VectorIndex:
    def __init__(self, path: Path, model: str, dim: int, *, ann_threshold: int = ANN_THRESHOLD,
                 fresh: bool = False):
        self.path, self.model, self.dim, self.ann_threshold = path, model, dim, ann_threshold
        if fresh:  # a rebuild: whatever model built the old files, start empty
            shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True, exist_ok=True)
        state = self._read_state()
        if state and (state.get("model") != model or state.get("dim") != dim):
            raise ReindexNeeded(
                f"the vector index in {path} was built with model {state.get('model')!r} but the "
                f"configured model is {model!r}: run `paperradar reindex` to rebuild it")
        self.seq = int(state.get("seq", 0)) if state else 0
        self._load()

    # --- persistence -------------------------------------------------------------------------
    def _read_state(self) -> dict:
        try:
            return json.loads((self.path / "state.json").read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            raise ReindexNeeded(f"{self.path}/state.json is unreadable: run `paperradar reindex`") from None

    def _write_json(self, name: str, data) -> None:
        tmp = self.path / (name + ".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.path / name)

    def _load(self) -> None:
        vec_file, ids_file = self.path / "vectors.f32", self.path / "ids.txt"
        self.ids: list[str] = ids_file.read_text().split("\n")[:-1] if ids_file.exists() else []
        n = len(self.ids)
        if n and (not vec_file.exists() or vec_file.stat().st_size < n * self.dim * 4):
            raise ReindexNeeded(f"{vec_file} is shorter than {ids_file}: run `paperradar reindex`")
        self._map_vectors()
        dfile = self.path / "deleted.json"
        self.deleted: set[int] = set(json.loads(dfile.read_text())) if dfile.exists() else set()
        self.row_of = {pid: i for i, pid in enumerate(self.ids) if i not in self.deleted}
        self.ann = None
        if (self.path / "ann.faiss").exists():
            import faiss

            self.ann = faiss.read_index(str(self.path / "ann.faiss"))
            faiss.ParameterSpace().set_index_parameters(self.ann, ANN_SEARCH)
            if self.ann.ntotal != n:
                raise ReindexNeeded(f"{self.path}/ann.faiss is out of step: run `paperradar reindex`")

    def _map_vectors(self) -> None:
        # Memory-mapped: with an ANN index the full matrix is only touched row by row, so a
        # million vectors do not have to be resident.
        n = len(self.ids)
        self.vectors = (np.memmap(self.path / "vectors.f32", dtype=np.float32, mode="r", shape=(n, self.dim))
                        if n else np.zeros((0, self.dim), np.float32))

    def reset(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        self.seq = 0
        self._load()

    # --- writing -----------------------------------------------------------------------------
    def apply(self, upserts: list[tuple[str, np.ndarray]], removals: list[str], seq: int) -> None:
        """Add or replace vectors, remove papers, and remember the store seq they reflect."""
        for pid in removals + [pid for pid, _ in upserts]:
            row = self.row_of.pop(pid, None)
            if row is not None:
                self.deleted.add(row)
        if upserts:
            new = np.vstack([v for _, v in upserts]).astype(np.float32)
            start = len(self.ids)
            with open(self.path / "vectors.f32", "ab") as f:
                new.tofile(f)
            with open(self.path / "ids.txt", "a") as f:
                f.write("".join(pid + "\n" for pid, _ in upserts))
            self.ids.extend(pid for pid, _ in upserts)
            self._map_vectors()
            self.row_of.update({pid: start + i for i, (pid, _) in enumerate(upserts)})
            if self.ann is not None:
                self.ann.add(new)
            elif len(self.ids) >= self.ann_threshold:
                self._build_ann()
            if self.ann is not None:
                self._save_ann()
        self._write_json("deleted.json", sorted(self.deleted))
        self.seq = seq
        self._write_json("state.json", {"model": self.model, "dim": self.dim, "seq": seq,
                                        "rows": len(self.ids), "ann": self.ann is not None})

    def _build_ann(self) -> None:
        import faiss

        index = faiss.index_factory(self.dim, ANN_SPEC, faiss.METRIC_INNER_PRODUCT)
        sample = self.vectors[np.random.default_rng(0).choice(len(self.vectors), min(len(self.vectors), 100_000), replace=False)]
        index.train(sample)
        for i in range(0, len(self.vectors), 50_000):  # in slices: never the whole matrix in RAM
            index.add(np.ascontiguousarray(self.vectors[i:i + 50_000]))
        faiss.ParameterSpace().set_index_parameters(index, ANN_SEARCH)
        self.ann = index

    def _save_ann(self) -> None:
        import faiss

        tmp = self.path / "ann.faiss.tmp"
        faiss.write_index(self.ann, str(tmp))
        tmp.replace(self.path / "ann.faiss")

    # --- reading -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.row_of)

    def vector(self, paper_id: str) -> np.ndarray | None:
        row = self.row_of.get(paper_id)
        return None if row is None else self.vectors[row]

    def search(self, query: np.ndarray, k: int, *, allowed: set[str] | None = None,
               exclude: set[str] = frozenset()) -> list[VectorHit]:
        """Top k by cosine (vectors are unit length), optionally only among `allowed` ids."""
        if k <= 0 or not self.row_of:
            return []
        query = np.asarray(query, np.float32).reshape(-1)
        if allowed is not None:
            return self._exact_among(query, k, allowed - set(exclude))
        if self.ann is not None:
            want = k + len(exclude) + 16
            scores, rows = self.ann.search(query[None, :], min(want * 2, len(self.ids)))
            pairs = [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
        else:
            scores = self.vectors @ query
            if self.deleted:
                scores[list(self.deleted)] = -np.inf
            top = min(k + len(exclude) + len(self.deleted), len(scores))
            rows = np.argpartition(-scores, top - 1)[:top] if top < len(scores) else np.arange(len(scores))
            rows = rows[np.argsort(-scores[rows], kind="stable")]
            pairs = [(int(r), float(scores[r])) for r in rows]
        hits = [VectorHit(self.ids[r], s) for r, s in pairs
                if r not in self.deleted and self.ids[r] not in exclude]
        return hits[:k]

    def _exact_among(self, query: np.ndarray, k: int, allowed: set[str]) -> list[VectorHit]:
        rows = np.array([self.row_of[p] for p in allowed if p in self.row_of], dtype=np.int64)
        if not len(rows):
            return []
        scores = self.vectors[rows] @ query
        order = np.argsort(-scores, kind="stable")[:k]
        return [VectorHit(self.ids[rows[i]], float(scores[i])) for i in order]
