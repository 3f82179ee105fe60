"""The lexical index: BM25 over title + abstract (one field) and authors, in tantivy on disk.

Text is analyzed by `analyze` before it reaches tantivy (whitespace-split tokens), and queries
are built as tantivy Query objects from a parsed `Query`, never from the user's string, so
no input can be interpreted as query syntax. The store is the source of truth: the index keeps
the last store `seq` it has seen and `sync` catches up from there; deleting the folder and
syncing rebuilds it. Opening the folder, finding damage and rebuilding from the store are
`tantivy_folder`'s (docs/search.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import tantivy

from ..models import Paper
from . import analyze
from .keys import paper_key
from .query import Query
from .tantivy_folder import IndexDamaged, Source, TantivyFolder  # noqa: F401 (IndexDamaged: for callers)
from .writelock import LOCK_WAIT_S, IndexBusy

SCHEMA_VERSION = 4  # 4: title and abstract in one field, `text` (docs/search.md, "Keyword ranking")
# Measured on all three dev sets with bench/lexical_variants.py (docs/search.md): title + abstract
# as ONE BM25 field beat separate fields with the title boosted; a title weight on top of it
# helped one set and hurt another (noise); adjacent query words found side by side in the
# title are the one extra that held beyond noise.
AUTHOR_BOOST = 1.0
MAX_OR_TERMS = 10
PROXIMITY_MAX_WORDS = 4
PAIR_BOOST = 0.5  # weight of a title pair (`title_pairs`) against a word's BM25 in `text`
TEXT_FIELDS = ("text", "authors")  # what a query's words are looked up in
COMMON_SHARE = 0.25
POSTINGS_BUDGET = 300_000  # title + abstract postings one query may walk, summed over its words
LARGE_INDEX = 100_000  # papers; below this every word of a query is used
COMMIT_EVERY = 50_000
IDS_KEPT = 100_000  # paper ids known by key (~15 MB); a key's id never changes


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw")
    b.add_integer_field("key", fast=True, indexed=True)  # paper_key(id): read in bulk when filtering vectors
    b.add_text_field("text", tokenizer_name="whitespace")  # title, then abstract
    b.add_text_field("title_pairs", tokenizer_name="whitespace")  # see `title_pairs`
    b.add_text_field("authors", tokenizer_name="whitespace")
    b.add_text_field("cat", tokenizer_name="raw")
    b.add_integer_field("day", indexed=True, fast=True)
    return b.build()


def title_pairs(stems: list[str]) -> list[str]:
    """Each stem joined to the next and to the one after ("gradient_invers"), as single terms.

    A query's adjacent words are looked up as these terms: words side by side in a title, or
    with one word between, score extra. A phrase query would find the same titles, but inside
    a disjunction it stops tantivy from skipping blocks that cannot reach the top k, which
    made 2-4 word keyword searches 2-3 times slower at a million papers.
    """
    return [f"{a}_{b}" for i, a in enumerate(stems) for b in stems[i + 1:i + 3]]


def day_number(paper: Paper) -> int:
    """yyyymmdd of publication, else of first sighting: what from:/to: filter on."""
    d = paper.published or (paper.first_seen_at.date() if paper.first_seen_at else None)
    return d.year * 10000 + d.month * 100 + d.day if d else 0


@dataclass
class LexicalHit:
    id: str
    score: float


class LexicalIndex(TantivyFolder):
    """BM25 over our schema; opening, damage and repair are `TantivyFolder`'s."""

    def __init__(self, path: Path, source: Source | None = None, *, lock_wait: float = LOCK_WAIT_S):
        super().__init__(path, _schema(), SCHEMA_VERSION, source, lock_wait)
        self._id_of_key: dict[int, str] = {}

    # --- writing ---------------------------------------------------------------------------
    def _doc(self, p: Paper) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("id", p.id)
        doc.add_integer("key", paper_key(p.id))
        title = analyze.tokens(p.title)
        # Two values of one field: BM25 sees one text (one length, one term frequency), and
        # a phrase cannot run from the title's last word into the abstract's first.
        doc.add_text("text", " ".join(title))
        doc.add_text("text", analyze.index_text(p.abstract))
        doc.add_text("title_pairs", " ".join(title_pairs(title)))
        doc.add_text("authors", analyze.index_text(" ; ".join(p.authors)))
        for c in p.categories:
            doc.add_text("cat", c.lower())
        doc.add_integer("day", day_number(p))
        return doc

    def sync(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply the source's changes since `seq` (in seq order); returns how many.

        Under the writer lock, so a second process waits for the first (bounded) and then
        starts from where the first left the index."""
        with self.lock.held():
            if self.index is None and (problem := self._open_problem(full=False)):
                self._discard(problem)
            try:
                writer = self.index.writer(heap_size=128_000_000, num_threads=1)
            except ValueError as e:  # a writer that does not take our lock (an older version)
                raise IndexBusy(f"the keyword index in {self.path} is locked by another writer ({e})") from None
            done = 0
            committed = last = self.seq
            try:
                for seq, paper in self.source(committed):
                    writer.delete_documents_by_term("id", paper.id)
                    if not paper.withdrawn:
                        writer.add_document(self._doc(paper))
                    done, last = done + 1, seq
                    if progress:
                        progress(1)
                    if done % COMMIT_EVERY == 0:
                        writer.commit()
                        committed = last
                        self._save_state(committed)
                writer.commit()
                committed = last
                self._save_state(committed)  # now, not after the merges: readers see the commit
                writer.wait_merging_threads()
            finally:
                del writer  # frees tantivy's own lock even when a traceback keeps this frame
                self._save_state(committed)  # never past what was committed
            self._behind = False
            self._seen = self._look()  # our own commit: the next search need not check the files again
        self.index.reload()
        return done

    # --- searching -------------------------------------------------------------------------
    def _term(self, field: str, token: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, token)

    def _phrase(self, field: str, toks: list[str]) -> tantivy.Query:
        if len(toks) == 1:
            return self._term(field, toks[0])
        return tantivy.Query.phrase_query(self.schema, field, toks)

    def _text_query(self, words: list[str], boosts: dict[str, float]) -> tantivy.Query:
        toks = analyze.stems(words)
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.boost_query(self._phrase(f, toks), w)) for f, w in boosts.items()]
        )

    def _selective(self, stems: list[str]) -> list[str]:
        """The query's stems worth a posting-list walk. In a large index: rarest first, at most
        MAX_OR_TERMS, none found in more than COMMON_SHARE of the papers, and no more than
        POSTINGS_BUDGET postings in all; always at least the rarest word.

        A common word ("learning" in an ML corpus) adds little to BM25 (IDF 1.7 at 20% of the
        papers against 4.9 at 0.75%) but costs a walk over much of the index: 5 ms for 700,000
        postings. The budget binds on long descriptive queries, whose BM25 part weighs 0.1 in
        hybrid fusion: at a million papers it cut a 13-word query's keyword search from ~6.5 to
        ~3 ms.
        """
        searcher = self.index.searcher()
        total = searcher.num_docs
        if total < LARGE_INDEX:
            return stems  # a small index: every word, the walks are cheap
        freq = {t: searcher.doc_freq("text", t) for t in stems}
        rare = sorted([t for t in stems if freq[t] <= COMMON_SHARE * total] or stems, key=freq.get)
        chosen, walked = [], 0
        for t in rare[:MAX_OR_TERMS]:
            if chosen and walked + freq[t] > POSTINGS_BUDGET:
                break
            chosen.append(t)
            walked += freq[t]
        return chosen

    def build(self, q: Query) -> tantivy.Query | None:
        """The tantivy query for `q`, or None when nothing could match.

        Words become one flat disjunction of per-field term queries, the shape tantivy can
        answer with block-max WAND (top-k without scoring every match).
        """
        boosts = {"text": 1.0, "authors": AUTHOR_BOOST}
        must: list[tuple] = []
        words = [w for w in q.terms if w not in analyze.STOPWORDS] or q.terms
        word_stems = dict(zip(words, analyze.stems(words)))  # each distinct word, in order
        stems = list(dict.fromkeys(word_stems.values()))
        should = [(tantivy.Occur.Should, tantivy.Query.boost_query(self._term(f, t), b))
                  for t in self._selective(stems) for f, b in boosts.items()]
        if 1 < len(words) <= PROXIMITY_MAX_WORDS:
            # the words side by side in the title (or one word apart) score extra: "gradient
            # inversion" in a title beats the two words apart. Titles only: an abstract's pairs
            # would double the index, and measured no better (docs/search.md).
            adjacent = list(word_stems.values())
            should.extend((tantivy.Occur.Should, tantivy.Query.boost_query(
                self._term("title_pairs", f"{a}_{b}"), PAIR_BOOST))
                for a, b in zip(adjacent, adjacent[1:]))
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
        if should and not must and not q.excluded:
            return tantivy.Query.boolean_query(should)
        if should:
            must.append((tantivy.Occur.Must, tantivy.Query.boolean_query(should)))
        if not must:
            return None
        for ex in q.excluded:
            must.append((tantivy.Occur.MustNot, self._text_query(ex, {"text": 1, "authors": 1})))
        return tantivy.Query.boolean_query(must)

    def search(self, q: Query, limit: int = 50, offset: int = 0) -> tuple[list[LexicalHit], int | None]:
        """Top hits by BM25, and the number of matches when it is cheap to know (else None).

        Counting every match of a text query would defeat tantivy's top-k pruning (block-max
        WAND), which is what keeps a query over a million papers in the low milliseconds.
        """
        return self._answer(lambda: self._search(q, limit, offset), ([], 0))

    def _search(self, q: Query, limit: int, offset: int) -> tuple[list[LexicalHit], int | None]:
        tq = self.build(q)
        if tq is None or limit <= 0:
            return [], 0
        searcher = self.index.searcher()
        if q.has_text:
            result = searcher.search(tq, limit=limit, offset=offset, count=False)
        else:  # filters only: newest first
            result = searcher.search(tq, limit=limit, offset=offset, count=True, order_by_field="day")
        addrs = [addr for _, addr in result.hits]
        ids = self._ids(searcher, addrs)
        hits = [LexicalHit(pid, float(score)) for pid, (score, _) in zip(ids, result.hits)]
        return hits, (int(result.count) if result.count is not None else None)

    def _ids(self, searcher: tantivy.Searcher, addrs: list) -> list[str]:
        """The paper ids of some documents. A document's stored fields are read only for a key
        not seen before: for hybrid's 200 candidates those reads took 0.28 ms of CPU on the demo
        corpus (more in a large index), the `key` fast field a few microseconds."""
        if not addrs:
            return []
        known, out = self._id_of_key, []
        for addr, key in zip(addrs, searcher.fast_field_values("key", addrs)):
            pid = known.get(key)  # None is never kept as a key (below)
            if pid is None:
                pid = searcher.doc(addr)["id"][0]
                if key is not None:  # a document without a key (never written so) is not kept
                    if len(known) >= IDS_KEPT:
                        known.clear()
                    known[key] = pid
            out.append(pid)
        return out

    def matching_keys(self, q: Query, limit: int) -> tuple[np.ndarray, bool]:
        """Keys of papers passing `q`'s filters (its text ignored), and whether that is all of them."""
        return self._answer(lambda: self._matching_keys(q, limit), (np.zeros(0, np.int64), True))

    def _matching_keys(self, q: Query, limit: int) -> tuple[np.ndarray, bool]:
        filters_only = Query(raw="", authors=q.authors, categories=q.categories,
                             date_from=q.date_from, date_to=q.date_to, excluded=q.excluded)
        tq = self.build(filters_only)
        if tq is None:
            return np.zeros(0, np.int64), True
        searcher = self.index.searcher()
        result = searcher.search(tq, limit=limit, count=True)
        addrs = [addr for _, addr in result.hits]
        keys = np.array(searcher.fast_field_values("key", addrs) if addrs else [], dtype=np.int64)
        return keys, (result.count or 0) <= limit

    def filter_keys(self, q: Query, keys: list[int]) -> set[int]:
        """Which of `keys` pass `q`'s filters: for vector candidates when too many papers pass."""
        return self._answer(lambda: self._filter_keys(q, keys), set())

    def _filter_keys(self, q: Query, keys: list[int]) -> set[int]:
        filters_only = Query(raw="", authors=q.authors, categories=q.categories,
                             date_from=q.date_from, date_to=q.date_to, excluded=q.excluded)
        tq = self.build(filters_only)
        if tq is None or not keys:
            return set(keys)
        among = tantivy.Query.term_set_query(self.schema, "key", list(keys))
        searcher = self.index.searcher()
        result = searcher.search(tantivy.Query.boolean_query([(tantivy.Occur.Must, tq), (tantivy.Occur.Must, among)]),
                                 limit=len(keys), count=False)
        return set(searcher.fast_field_values("key", [a for _, a in result.hits]))

    # --- vocabulary (for "did you mean", search/suggest.py) ----------------------------------
    def unmatched(self, words: list[str]) -> list[str]:
        """Those of the folded `words` whose stem no paper has in its title, abstract or authors."""
        return self._answer(lambda: self._unmatched(words), [])

    def _unmatched(self, words: list[str]) -> list[str]:
        searcher = self.index.searcher()
        if not searcher.num_docs:
            return []  # an empty index matches nothing, and nothing is a typo
        return [w for w, s in zip(words, analyze.stems(words))
                if not any(searcher.doc_freq(f, s) for f in TEXT_FIELDS)]

    def doc_freqs(self, stems: list[str]) -> dict[str, int]:
        """Papers with each stem in their title or abstract (a term-dictionary lookup each)."""
        def read() -> dict[str, int]:
            searcher = self.index.searcher()
            return {s: searcher.doc_freq("text", s) for s in stems}
        return self._answer(read, dict.fromkeys(stems, 0))

    def fuzzy_ids(self, stem: str, distance: int, limit: int) -> list[str]:
        """Ids of up to `limit` papers whose title or abstract has a stem within `distance` edits
        (a transposition counts one; 0: that very stem) of `stem`. tantivy walks its term dictionary with a
        Levenshtein automaton, so this costs milliseconds whatever the index's size; the scores
        are constant, so which papers come back is a sample, not a ranking."""
        def read() -> list[str]:
            fuzzy = tantivy.Query.fuzzy_term_query(self.schema, "text", stem, distance=distance,
                                                   transposition_cost_one=True)
            searcher = self.index.searcher()
            return [searcher.doc(addr)["id"][0] for _, addr in searcher.search(fuzzy, limit=limit, count=False).hits]
        return self._answer(read, [])
