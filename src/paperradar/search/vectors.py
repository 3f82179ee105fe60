"""The vector index: paper embeddings on disk, searched exactly or through a faiss ANN index.

Files in its folder: `vectors.f32` (rows of float32, append-only), `ids.txt` (the paper id of
each row), `keys.i64` (each row's `paper_key`, for filters), `deleted.json` (rows superseded by a newer vector or withdrawn), `ann.faiss` (only
above `ann_threshold` rows) and `state.json` (model, dim, store seq, kind). Rows are never
rewritten: a changed paper gets a new row and its old row is marked deleted, so an ANN index
can simply append. The state records which model built the vectors; opening the index with
another model raises `ReindexNeeded` rather than mixing vectors.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .keys import paper_key

# Inverted lists over k-means cells, vectors stored as 8-bit codes (1M x 384 dims in ~400 MB);
# a search visits ANN_SEARCH's cells. HNSW32,SQ8 was tried first: at a million papers its
# recall@10 stayed near 0.8 where this reaches 1.0 (bench/search.py), at a sixth of the build time.
ANN_SEARCH = "nprobe=32"
ANN_THRESHOLD = 200_000
ANN_RERANK = 100  # ANN candidates re-scored exactly
ROW_CACHE = 50_000  # rows read for exact scores kept in memory (75 MB at 384 dims)  # below this, exact search is fast enough and exactly right


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
        kfile = self.path / "keys.i64"
        self.keys = np.fromfile(kfile, dtype=np.int64) if kfile.exists() else np.zeros(0, np.int64)
        if len(self.keys) != n:
            raise ReindexNeeded(f"{kfile} is out of step with {ids_file}: run `paperradar reindex`")
        self._by_key = None
        self.ann = None
        if (self.path / "ann.faiss").exists():
            import faiss

            self.ann = faiss.read_index(str(self.path / "ann.faiss"))
            faiss.ParameterSpace().set_index_parameters(self.ann, ANN_SEARCH)
            if self.ann.ntotal > n:
                raise ReindexNeeded(f"{self.path}/ann.faiss is out of step: run `paperradar reindex`")
            # The ANN file is saved at the end of a sync, not after every batch (it is large);
            # rows appended after the last save are added back here.
            self._add_to_ann(self.ann.ntotal)

    def _map_vectors(self) -> None:
        # Memory-mapped for exact search and for building the ANN index; searches with an ANN
        # index read single rows instead (`_rows`).
        n = len(self.ids)
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
        self._fd = os.open(self.path / "vectors.f32", os.O_RDONLY) if n else None
        self._row_cache: dict[int, np.ndarray] = {}
        # (np.asarray: a plain ndarray view of the map; memmap-typed results are slow to work with)
        self.vectors = (np.asarray(np.memmap(self.path / "vectors.f32", dtype=np.float32, mode="r", shape=(n, self.dim)))
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
            new_keys = np.array([paper_key(pid) for pid, _ in upserts], dtype=np.int64)
            with open(self.path / "keys.i64", "ab") as f:
                new_keys.tofile(f)
            self.keys = np.concatenate([self.keys, new_keys])
            self.ids.extend(pid for pid, _ in upserts)
            self._map_vectors()
            self.row_of.update({pid: start + i for i, (pid, _) in enumerate(upserts)})
            if self.ann is not None and not self._outgrown():
                self.ann.add(new)
            elif len(self.ids) >= self.ann_threshold:
                self._build_ann()
                self.flush()
        self._write_json("deleted.json", sorted(self.deleted))
        self._by_key = None
        self.seq = seq
        self._write_json("state.json", {"model": self.model, "dim": self.dim, "seq": seq,
                                        "rows": len(self.ids), "ann": self.ann is not None})

    def _build_ann(self) -> None:
        import faiss

        n = len(self.vectors)
        cells = int(4 * np.sqrt(n))  # the usual 4·√N; fixed at build, `reindex` rebuilds it
        # L2 on unit vectors ranks exactly as cosine does
        index = faiss.index_factory(self.dim, f"IVF{cells},SQ8", faiss.METRIC_L2)
        rows = np.sort(np.random.default_rng(0).choice(n, min(n, 40 * cells), replace=False))
        index.train(np.ascontiguousarray(self.vectors[rows]))
        faiss.ParameterSpace().set_index_parameters(index, ANN_SEARCH)
        self.ann = index
        self._add_to_ann(0)

    def _outgrown(self) -> bool:
        """True once the collection has quadrupled since the cells were chosen: rebuild them."""
        import faiss

        return int(4 * np.sqrt(len(self.ids))) > 2 * faiss.extract_index_ivf(self.ann).nlist

    def _add_to_ann(self, start: int) -> None:
        for i in range(start, len(self.ids), 50_000):  # in slices: never the whole matrix in RAM
            self.ann.add(np.ascontiguousarray(self.vectors[i:i + 50_000]))

    def flush(self) -> None:
        """Save the ANN index (if any); call at the end of a sync."""
        if self.ann is None:
            return
        import faiss

        tmp = self.path / "ann.faiss.tmp"
        faiss.write_index(self.ann, str(tmp))
        tmp.replace(self.path / "ann.faiss")

    # --- reading -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.row_of)

    def vector(self, paper_id: str) -> np.ndarray | None:
        row = self.row_of.get(paper_id)
        return None if row is None else self._rows(np.array([row]))[0]

    def search(self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               exclude: set[str] = frozenset()) -> list[VectorHit]:
        """Top k by cosine (vectors are unit length); with `allowed` (paper keys), exactly among those."""
        if k <= 0 or not self.row_of:
            return []
        query = np.asarray(query, np.float32).reshape(-1)
        if allowed is not None:
            return self._exact_among(query, k, self.rows_for_keys(allowed), exclude)
        if self.ann is not None:
            want = k + len(exclude)
            _, rows = self.ann.search(query[None, :], min(max(want + 20, ANN_RERANK), len(self.ids)))
            rows = np.array([r for r in rows[0] if r >= 0 and int(r) not in self.deleted], dtype=np.int64)
            # Rerank with the exact float32 vectors: SQ8 codes blur near-ties.
            return self._exact_among(query, k, rows, exclude)
        scores = self.vectors @ query
        if self.deleted:
            scores[list(self.deleted)] = -np.inf
        top = min(k + len(exclude), len(scores))  # deleted rows score -inf: never ahead of a live one
        rows = np.argpartition(-scores, top - 1)[:top] if top < len(scores) else np.arange(len(scores))
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        hits = [VectorHit(self.ids[r], float(scores[r])) for r in rows
                if int(r) not in self.deleted and self.ids[r] not in exclude]
        return hits[:k]

    def rows_for_keys(self, keys: np.ndarray) -> np.ndarray:
        """Live rows of the papers with these keys (unknown keys are skipped)."""
        if self._by_key is None:
            live = np.array(sorted(self.row_of.values()), dtype=np.int64)
            order = np.argsort(self.keys[live], kind="stable")
            self._by_key = (self.keys[live][order], live[order])
        sorted_keys, rows = self._by_key
        keys = np.asarray(keys, dtype=np.int64)
        pos = np.searchsorted(sorted_keys, keys).clip(0, max(len(sorted_keys) - 1, 0))
        found = sorted_keys[pos] == keys if len(sorted_keys) else np.zeros(len(keys), bool)
        return rows[pos[found]]

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        """Vectors of some rows. With an ANN index they are read with pread, not through the
        map: a long-running server would otherwise end up with the whole file (1.4 GB at a
        million papers) mapped and counted in its memory."""
        if self.ann is None:
            return self.vectors[rows]
        size = self.dim * 4
        out = np.empty((len(rows), self.dim), np.float32)
        cache = self._row_cache
        if len(cache) > ROW_CACHE:
            cache.clear()
        for i, r in enumerate(rows):
            r = int(r)
            v = cache.get(r)
            if v is None:  # rows are append-only, so a cached row never goes stale
                v = cache[r] = np.frombuffer(os.pread(self._fd, size, r * size), np.float32)
            out[i] = v
        return out

    def vectors_of(self, paper_ids) -> dict[str, np.ndarray]:
        """Vectors of many papers at once (unknown ids are left out)."""
        known = [(pid, self.row_of[pid]) for pid in paper_ids if pid in self.row_of]
        if not known:
            return {}
        found = self._rows(np.array([row for _, row in known]))
        return {pid: found[i] for i, (pid, _) in enumerate(known)}

    def _exact_among(self, query: np.ndarray, k: int, rows: np.ndarray, exclude=frozenset()) -> list[VectorHit]:
        if not len(rows):
            return []
        rows = np.sort(rows)
        scores = self._rows(rows) @ query
        order = np.argsort(-scores, kind="stable")
        hits = []
        for i in order:
            pid = self.ids[rows[i]]
            if pid not in exclude:
                hits.append(VectorHit(pid, float(scores[i])))
                if len(hits) == k:
                    break
        return hits
