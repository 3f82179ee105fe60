"""The search entry point used by the web, the API and the CLI.

Parses the query, retrieves from the lexical index (and, where built, the vector index),
loads the papers from the store and adds highlights. One place, so every front end ranks alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from ..models import Paper
from ..store import Store
from . import highlight
from .lexical import LexicalIndex
from .query import Query, parse

MODES = ("lexical",)


@dataclass
class Hit:
    paper: Paper
    score: float
    title_html: Markup
    snippet_html: Markup


@dataclass
class Results:
    query: Query
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    mode: str = "lexical"


class SearchService:
    modes = MODES

    def __init__(self, store: Store, lexical: LexicalIndex):
        self.store = store
        self.lexical = lexical

    def search(self, raw: str, *, limit: int = 20, offset: int = 0, mode: str = "lexical") -> Results:
        """Raises QueryError for a query that cannot mean anything (bad filter value)."""
        q = parse(raw)
        limit = max(0, min(limit, 200))
        found, total = self.lexical.search(q, limit=limit, offset=offset)
        return Results(q, self._hits(q, [(h.id, h.score) for h in found]), total, mode)

    def _hits(self, q: Query, scored: list[tuple[str, float]]) -> list[Hit]:
        papers = self.store.get_papers([pid for pid, _ in scored])
        stems = highlight.query_stems(q.terms + [w for p in q.phrases for w in p])
        hits = []
        for pid, score in scored:
            p = papers.get(pid)
            if p is None:  # index ahead of a store that lost the row: skip, never fail
                continue
            hits.append(Hit(p, score, highlight.mark(p.title, stems), highlight.snippet(p.abstract, stems)))
        return hits
