"""Plain BM25, the yardstick `paperradar eval` reports beside our own modes (`--mode bm25`).

Textbook BM25 (k1 = 1.2, b = 0.75, tantivy's) over ONE field, title + abstract, with our own
analyzer (`analyze`), in an index held in memory and built from the store when asked for.
Every word of the query counts once, stopwords included; no field weights, no proximity, no
filters. It is not a search mode of the product: it exists so that every evaluation shows how
much our keyword ranking adds (or loses) against the method anyone would start from.
"""

from __future__ import annotations

from typing import Iterable

import tantivy

from ..models import Paper
from . import analyze
from .query import parse

NAME = "bm25"


class PlainBM25:
    def __init__(self, papers: Iterable[Paper]):
        b = tantivy.SchemaBuilder()
        b.add_text_field("id", stored=True, tokenizer_name="raw")
        b.add_text_field("text", tokenizer_name="whitespace")
        self.schema = b.build()
        self.index = tantivy.Index(self.schema)  # no path: in memory
        writer = self.index.writer(heap_size=64_000_000, num_threads=1)
        for p in papers:
            if p.withdrawn:
                continue
            doc = tantivy.Document()
            doc.add_text("id", p.id)
            doc.add_text("text", analyze.index_text(f"{p.title} {p.abstract}"))
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()

    @classmethod
    def from_store(cls, store) -> "PlainBM25":
        return cls(p for _, p in store.papers_changed_since(0))

    def search(self, raw: str, limit: int = 50) -> list[str]:
        """Paper ids, best first, for the words (and phrases' words) of `raw`."""
        q = parse(raw)
        stems = dict.fromkeys(analyze.stems(q.terms + [w for p in q.phrases for w in p]))
        if not stems or limit <= 0:
            return []
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "text", t)) for t in stems])
        searcher = self.index.searcher()
        return [searcher.doc(addr)["id"][0] for _, addr in searcher.search(query, limit=limit).hits]
