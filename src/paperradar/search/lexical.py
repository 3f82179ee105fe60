"""The lexical index: BM25 over title (boosted), abstract and authors, in tantivy on disk.

Text is analyzed by `analyze` before it reaches tantivy (whitespace-split tokens), and queries
are built as tantivy Query objects from a parsed `Query`, never from the user's string, so
no input can be interpreted as query syntax. The store is the source of truth: the index keeps
the last store `seq` it has seen and `sync` catches up from there; deleting the folder and
syncing rebuilds it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import tantivy

from ..models import Paper
from . import analyze
from .query import Query

SCHEMA_VERSION = 1
# Field weights, tuned on the dev queries with `paperradar eval` (see docs/search.md).
TITLE_BOOST = 1.5
AUTHOR_BOOST = 1.0
PROXIMITY_MAX_WORDS = 6
PROXIMITY_SLOP = 1
PROXIMITY_BOOST = 1.0
COMMIT_EVERY = 50_000


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw")
    b.add_text_field("title", tokenizer_name="whitespace")
    b.add_text_field("abstract", tokenizer_name="whitespace")
    b.add_text_field("authors", tokenizer_name="whitespace")
    b.add_text_field("cat", tokenizer_name="raw")
    b.add_integer_field("day", indexed=True, fast=True)
    return b.build()


def day_number(paper: Paper) -> int:
    """yyyymmdd of publication, else of first sighting: what from:/to: filter on."""
    d = paper.published or (paper.first_seen_at.date() if paper.first_seen_at else None)
    return d.year * 10000 + d.month * 100 + d.day if d else 0


@dataclass
class LexicalHit:
    id: str
    score: float


class IndexBusy(RuntimeError):
    """Another process is writing the index."""


class LexicalIndex:
    def __init__(self, path: Path):
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        state = self._state()
        if state.get("schema") != SCHEMA_VERSION:
            self._reset()
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, str(self.path), reuse=True)

    # --- state -----------------------------------------------------------------------------
    @property
    def _state_file(self) -> Path:
        return self.path / "paperradar-state.json"

    def _state(self) -> dict:
        try:
            return json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, seq: int) -> None:
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"schema": SCHEMA_VERSION, "seq": seq}))
        tmp.replace(self._state_file)

    def _reset(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True, exist_ok=True)
        self._save_state(0)

    @property
    def seq(self) -> int:
        return int(self._state().get("seq", 0))

    # --- writing ---------------------------------------------------------------------------
    def _doc(self, p: Paper) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("id", p.id)
        doc.add_text("title", analyze.index_text(p.title))
        doc.add_text("abstract", analyze.index_text(p.abstract))
        doc.add_text("authors", analyze.index_text(" ; ".join(p.authors)))
        for c in p.categories:
            doc.add_text("cat", c.lower())
        doc.add_integer("day", day_number(p))
        return doc

    def sync(self, changes, progress: Callable[[int], None] | None = None) -> int:
        """Apply `(seq, paper)` changes from the store (in seq order); returns how many."""
        try:
            writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        except ValueError as e:
            raise IndexBusy(f"{self.path}: the lexical index is locked by another writer ({e})") from None
        done, last = 0, self.seq
        try:
            for seq, paper in changes:
                writer.delete_documents_by_term("id", paper.id)
                if not paper.withdrawn:
                    writer.add_document(self._doc(paper))
                done, last = done + 1, seq
                if progress:
                    progress(1)
                if done % COMMIT_EVERY == 0:
                    writer.commit()
                    self._save_state(last)
            writer.commit()
            writer.wait_merging_threads()
        finally:
            self._save_state(last)
        self.index.reload()
        return done

    def rebuild(self, changes, progress=None) -> int:
        self._reset()
        self.index = tantivy.Index(self.schema, str(self.path), reuse=False)
        return self.sync(changes, progress)

    # --- searching -------------------------------------------------------------------------
    def _term(self, field: str, token: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, token)

    def _phrase(self, field: str, toks: list[str]) -> tantivy.Query:
        if len(toks) == 1:
            return self._term(field, toks[0])
        return tantivy.Query.phrase_query(self.schema, field, toks)

    def _text_query(self, words: list[str], boosts: dict[str, float]) -> tantivy.Query:
        toks = analyze._stemmer.stemWords(words)
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.boost_query(self._phrase(f, toks), w)) for f, w in boosts.items()]
        )

    def build(self, q: Query) -> tantivy.Query | None:
        """The tantivy query for `q`, or None when nothing could match."""
        boosts = {"title": TITLE_BOOST, "abstract": 1.0, "authors": AUTHOR_BOOST}
        must: list[tuple] = []
        words = [w for w in q.terms if w not in analyze.STOPWORDS] or q.terms
        words = list(dict.fromkeys(words))
        if words:
            should = [(tantivy.Occur.Should, self._text_query([w], boosts)) for w in words]
            if 1 < len(words) <= PROXIMITY_MAX_WORDS:
                # the words next to each other (a little slop) score extra: "gradient inversion"
                # in a title beats "gradient" and "inversion" far apart
                toks = analyze._stemmer.stemWords(words)
                should += [(tantivy.Occur.Should, tantivy.Query.boost_query(
                    tantivy.Query.phrase_query(self.schema, f, toks, slop=PROXIMITY_SLOP), w * PROXIMITY_BOOST))
                    for f, w in (("title", TITLE_BOOST), ("abstract", 1.0))]
            must.append((tantivy.Occur.Must, tantivy.Query.boolean_query(should)))
        for phrase in q.phrases:
            must.append((tantivy.Occur.Must, self._text_query(phrase, boosts)))
        for author in q.authors:
            toks = analyze.tokens(author)
            if toks:
                must.append((tantivy.Occur.Must, self._phrase("authors", toks)))
        for cat in q.categories:
            must.append((tantivy.Occur.Must, self._term("cat", cat.lower())))
        if q.date_from or q.date_to:
            lo = q.date_from and int(q.date_from.strftime("%Y%m%d"))
            hi = q.date_to and int(q.date_to.strftime("%Y%m%d"))
            must.append((tantivy.Occur.Must, tantivy.Query.range_query(
                self.schema, "day", tantivy.FieldType.Integer, lo or None, hi or None)))
        if not must:
            return None
        for ex in q.excluded:
            must.append((tantivy.Occur.MustNot, self._text_query(ex, {"title": 1, "abstract": 1, "authors": 1})))
        return tantivy.Query.boolean_query(must)

    def search(self, q: Query, limit: int = 50, offset: int = 0) -> tuple[list[LexicalHit], int]:
        """Top hits by BM25 and the number of matching papers."""
        tq = self.build(q)
        if tq is None or limit <= 0:
            return [], 0
        searcher = self.index.searcher()
        if q.has_text:
            result = searcher.search(tq, limit=limit, offset=offset, count=True)
        else:  # filters only: newest first
            result = searcher.search(tq, limit=limit, offset=offset, count=True, order_by_field="day")
        hits = [LexicalHit(searcher.doc(addr)["id"][0], float(score)) for score, addr in result.hits]
        return hits, int(result.count or 0)

    def matching_ids(self, q: Query, limit: int) -> set[str]:
        """Ids of papers that pass `q`'s filters (ignoring its text), for filtering vector hits."""
        filters_only = Query(raw="", authors=q.authors, categories=q.categories,
                             date_from=q.date_from, date_to=q.date_to, excluded=q.excluded)
        hits, _ = self.search(filters_only, limit=limit)
        return {h.id for h in hits}

    def __len__(self) -> int:
        return self.index.searcher().num_docs
