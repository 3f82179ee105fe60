"""The search entry point used by the web, the API and the CLI.

Modes: `lexical` (BM25), `vector` (cosine to the query's embedding) and `hybrid` (the default:
both candidate lists, every candidate scored by both, fused by a weighted sum whose balance
depends on the query's length; see `fusion`). Filters apply in every mode. Results come back
as `Paper`s with highlights, loaded from the store. A query word that matches nothing in the
keyword index is corrected ("did you mean", `suggest`): the search runs with the correction and
`Results.suggestion` says so.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from markupsafe import Markup

from ..models import Paper
from ..store import Store
from . import analyze, fusion, highlight, suggest
from .keys import paper_key
from .lexical import LexicalIndex
from .query import Query, parse
from .recent_papers import RecentPapers
from .vectors import VectorIndex

MODES = ("hybrid", "lexical", "vector")
CANDIDATES = 100  # from each retriever, before fusion (200: the same quality within noise, ~8% more CPU a search)
FILTER_EXACT_MAX = 50_000  # filtered vector search is exact below this many matching papers
PRF_DOCS = 3  # feedback documents; tuned with `paperradar eval` (docs/search.md)
PRF_WEIGHT = 2.0
QUERY_VECTORS = 1024  # query texts whose embedding a search service keeps
# Keyword weight in hybrid fusion by kind of query (fusion.lexical_weight_for): up to SHORT_MAX
# content words, more, and a query naming an acronym whatever its length (None: by length like
# the others). Chosen on all three dev sets with bench/fusion_grid.py (docs/search.md).
LEXICAL_SHORT, LEXICAL_LONG, LEXICAL_ACRONYM, SHORT_MAX = 0.4, 0.1, 0.5, 4
log = logging.getLogger("paperradar.search")


@dataclass
class Hit:
    """A result, its title and abstract highlighted for the query when first asked for (a page
    shows both, a JSON answer only the snippet, a feed neither)."""
    paper: Paper
    score: float
    matcher: highlight.Matcher = field(repr=False)

    @functools.cached_property
    def title_html(self) -> Markup:
        return highlight.mark(self.paper.title, self.matcher)

    @functools.cached_property
    def snippet_html(self) -> Markup:
        return highlight.snippet(self.paper.abstract, self.matcher)


@dataclass
class Results:
    query: Query
    hits: list[Hit] = field(default_factory=list)
    total: int | None = 0  # None: more than shown, not counted (counting costs at scale)
    mode: str = "hybrid"
    notice: str | None = None  # e.g. why the mode asked for was not available
    suggestion: suggest.Suggestion | None = None  # the query as corrected, when a word matched nothing
    more: bool = False  # another page of results follows this one


class SearchService:
    modes = MODES

    def __init__(self, store: Store, lexical: LexicalIndex, vectors: VectorIndex | None = None,
                 embedder: Callable | None = None):
        self.store, self.lexical, self.vectors = store, lexical, vectors
        self._embedder = embedder
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="embed-query")
        # The next page of a search, its feed polled by a reader, a popular query: the same text
        # again, whose embedding (1.5-3 ms with MiniLM, ~15 ms with MPNet) is kept. One cache per
        # service, and a change of model makes a new service, so vectors of two models never mix.
        self.query_vector = functools.lru_cache(maxsize=QUERY_VECTORS)(self._encode_query)
        self.papers = RecentPapers(store.get_papers, lexical.state_version)

    def _encode_query(self, text: str) -> np.ndarray:
        vector = self._embedder().encode_query(text)
        vector.setflags(write=False)  # shared by every search of this text
        return vector

    def search(self, raw: str, *, limit: int = 20, offset: int = 0, mode: str = "hybrid") -> Results:
        """Raises QueryError for a query that cannot mean anything (bad filter value)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        q = parse(raw)
        suggestion = suggest.suggest(q, self.lexical, self._texts) if q.has_text else None
        if suggestion:
            # Every mode runs with the corrected words: the typed ones match no keyword, and
            # the model reads a typo's subwords badly ("trasnformer" by meaning finds MRI
            # papers). The price: a correct word that this corpus happens to lack is replaced
            # too (docs/search.md, "Typos"); in a large corpus such words are rare.
            q = parse(suggestion.query)
        limit, offset = max(0, min(limit, 200)), max(0, offset)
        notice = None
        if mode != "lexical" and q.has_text and not self._vectors_ready():
            notice = "search by meaning is unavailable (see `paperradar stats`); showing keyword results"
            mode = "lexical"
        # One result past the page says whether another page follows; only the page's own
        # results are fetched from the store and highlighted.
        if mode == "lexical" or not q.has_text:
            found, total = self.lexical.search(q, limit=limit + 1, offset=offset)
            scored = [(h.id, h.score) for h in found]
        else:
            scored, total = self._ranked(q, mode, offset + limit + 1)
            scored = scored[offset:offset + limit + 1]
        return Results(q, self._hits(q, scored[:limit]), total, mode if q.has_text else "lexical", notice, suggestion,
                       more=len(scored) > limit)

    def _texts(self, ids: list[str]) -> list[str]:
        return [f"{p.title} {p.abstract}" for p in self.papers.get(ids).values()]

    def _vectors_ready(self) -> bool:
        return bool(self.vectors) and self._embedder is not None  # bool: a count costs at scale (PgVectorIndex)

    def _vector_hits(self, q: Query, qvec: np.ndarray, k: int) -> list:
        """Top k by meaning among the papers passing `q`'s filters."""
        if not (q.has_filters or q.excluded):
            return self.vectors.search(qvec, k)
        keys, complete = self.lexical.matching_keys(q, limit=FILTER_EXACT_MAX)
        if complete:  # few enough to score them all exactly
            return self.vectors.search(qvec, k, allowed=keys)
        # Many papers pass: take a deep candidate list by meaning and keep those that pass.
        hits = self.vectors.search(qvec, k * 20)
        passing = self.lexical.filter_keys(q, [paper_key(h.id) for h in hits])
        return [h for h in hits if paper_key(h.id) in passing][:k]

    def _embed_and_retrieve(self, q: Query, k: int, retrieve: bool) -> tuple[np.ndarray, list]:
        qvec = self.query_vector(q.text)
        return qvec, (self._vector_hits(q, qvec, k) if retrieve else [])

    def _ranked(self, q: Query, mode: str, depth: int) -> tuple[list[tuple[str, float]], int]:
        k = max(CANDIDATES, depth)
        if mode == "vector":
            hits = self._vector_hits(q, self.query_vector(q.text), k)
            return [(h.id, h.score) for h in hits], len(hits)
        # A quoted phrase is a requirement: only keyword matches qualify, so the vectors only
        # score those (no retrieval by meaning).
        retrieve = functools.partial(self._embed_and_retrieve, q, k, retrieve=not q.phrases)
        # Vectors in the database (pgvector): the query's embedding and the walk's round trip
        # overlap the keyword search on another thread. Vectors in memory: one thread does it
        # all, since under load every core already runs a search and the hand-overs between
        # threads only cost (demo corpus: ~0.6 ms of CPU a search, ~10%).
        pending = self._pool.submit(retrieve) if self.vectors.shared else None
        lexical_hits, _ = self.lexical.search(q, limit=k)
        lex = {h.id: h.score for h in lexical_hits}
        vectors = self.vectors.vectors_of(lex)  # needs no query vector (pgvector: read while it is computed)
        qvec, by_meaning = pending.result() if pending else retrieve()
        content = [w for w in q.terms if w not in analyze.STOPWORDS] + [w for p in q.phrases for w in p]
        weight = fusion.lexical_weight_for(len(content), LEXICAL_SHORT, LEXICAL_LONG, short_max=SHORT_MAX,
                                           acronym=fusion.has_acronym(q.raw), acronym_weight=LEXICAL_ACRONYM)
        found = [h for h in by_meaning if h.id not in vectors]
        vectors.update((h.id, h.vector) for h in found if h.vector is not None)
        vectors.update(self.vectors.vectors_of([h.id for h in found if h.vector is None]))
        # Every candidate of either list is scored by both: BM25 (0 when only found by meaning)
        # and its exact cosine to the query. Those with a vector come first (a paper just
        # committed may not have one yet).
        ids = list(vectors) + [d for d in lex if d not in vectors]
        matrix = np.array(list(vectors.values()), np.float32) if vectors else np.zeros((0, len(qvec)), np.float32)
        bm25 = np.array([lex.get(d, 0.0) for d in ids], np.float64)

        def fuse(query_vector: np.ndarray) -> np.ndarray:
            return fusion.weighted_arrays(bm25, (matrix @ query_vector).astype(np.float64), weight)

        fused = fuse(qvec)
        top = [i for i in np.argsort(-fused, kind="stable")[:PRF_DOCS] if i < len(vectors)]
        if top:
            # Pseudo-relevance feedback (Rocchio in embedding space): move the query toward the
            # centroid of the best fused results and score the candidates again. The top few
            # results are usually right, and their vectors describe the topic better than a
            # short query does. (A second retrieval with the moved query found nothing new on
            # the dev queries, and cost 2 ms at a million papers.)
            q2 = qvec + PRF_WEIGHT * np.mean(matrix[top], axis=0)
            q2 /= np.linalg.norm(q2) or 1.0
            fused = fuse(q2)
        # Only the first `depth` are wanted: those scoring at least the depth-th best, in order.
        keep = np.flatnonzero(fused >= np.partition(fused, -depth)[-depth]) if len(ids) > depth else range(len(ids))
        ranked = sorted(((ids[i], float(fused[i])) for i in keep), key=lambda kv: (-kv[1], kv[0]))
        return ranked[:depth], len(ids)

    def similar(self, paper: Paper, *, limit: int = 10) -> list[Hit]:
        """Nearest papers by meaning; never the paper itself or another version of it."""
        if self.vectors is None:
            return []
        v = self.vectors.vector(paper.id)
        if v is None:
            return []
        exclude = {paper.id} | ({paper.arxiv_id} if paper.arxiv_id else set())
        found = self.vectors.search(v, limit + 5, exclude=exclude)
        scored = [(h.id, h.score) for h in found][: limit + 5]
        hits = [h for h in self._hits(Query(raw=""), scored) if not _same_work(h.paper, paper)]
        return hits[:limit]

    def _hits(self, q: Query, scored: list[tuple[str, float]]) -> list[Hit]:
        papers = self.papers.get([pid for pid, _ in scored])
        m = highlight.matcher(q.terms + [w for p in q.phrases for w in p])
        hits = []
        for pid, score in scored:
            p = papers.get(pid)
            if p is None:  # index ahead of a store that lost the row: skip, never fail
                continue
            hits.append(Hit(p, score, m))
        return hits


def _same_work(a: Paper, b: Paper) -> bool:
    """Two records of one paper (another version, or the same title under another id)."""
    from ..normalize import title_key

    return a.id == b.id or bool(a.arxiv_id and a.arxiv_id == b.arxiv_id) or title_key(a.title) == title_key(b.title)
