""""Did you mean": a correction for query words that match nothing in the keyword index.

A word is a candidate for correction only when its stem is in no paper's title, abstract or
authors: a word that matches anything is never corrected. One edit first, exactly: the stems one
edit from the word's stem that the index has (term-dictionary lookups), commonest first, and the
form of one of them nearest the typed word in papers that use it. Words of 8 letters or more
may take two edits: tantivy's fuzzy term query (a Levenshtein automaton over the index's own
vocabulary, a transposition counting one) finds a sample of papers holding a stem that close,
and the nearest, commonest of their words wins. The search then ranks with the corrected words
(a term query on the correction's stem, the same prunable shape as any query), and
`Results.suggestion` carries the corrected query string for the page's link.

The work is bounded whatever the input: at most MAX_WORDS words corrected per query, of at most
MAX_WORD_LEN letters, MAX_STEMS candidate stems each, SAMPLE papers read per candidate.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from . import analyze
from .query import FILTERS, MAX_QUERY_CHARS, TOKEN, Query

MAX_WORDS = 3  # corrected per query; a query of many unknown words is not a typo
MIN_WORD_LEN = 5  # shorter words are acronyms, names and other real words more often than typos
TWO_EDITS_FROM = 8  # letters; in shorter words two edits reach unrelated words ("anyone" → "alone")
MAX_WORD_LEN = 32
SAMPLE = 24  # papers read per candidate: enough to see the forms a stem takes
MAX_STEMS = 5  # one-edit stems tried per word, commonest first
LETTERS = "abcdefghijklmnopqrstuvwxyz"  # what one-edit candidates are made of (folded text)


@dataclass
class Suggestion:
    query: str  # the user's query string with the corrections in place (filters, quotes kept)
    corrections: dict[str, str]  # typed word (folded) -> suggested word


def max_distance(word: str) -> int:
    return 2 if len(word) >= TWO_EDITS_FROM else 1


def _affix(a: str, b: str) -> bool:
    """One word is the other with letters added at one end: "uncontrolled" and "controlled".
    Two edits of that kind are a different word (often its negation), not a typo."""
    return len(a) != len(b) and (a in b or b in a)


def distance(a: str, b: str, cutoff: int) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions), or
    cutoff + 1 as soon as it must exceed `cutoff`."""
    if abs(len(a) - len(b)) > cutoff:
        return cutoff + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > cutoff:
            return cutoff + 1
        prev2, prev = prev, cur
    return min(prev[-1], cutoff + 1)


def correctable(word: str) -> bool:
    return MIN_WORD_LEN <= len(word) <= MAX_WORD_LEN and word.isalpha() and word not in analyze.STOPWORDS


def suggest(q: Query, lexical, texts: Callable[[list[str]], list[str]]) -> Suggestion | None:
    """The corrected query, or None when every word matches (or nothing near a typo exists).

    `lexical` is the LexicalIndex; `texts(ids)` gives the title and abstract of those papers."""
    words = list(dict.fromkeys(w for w in q.terms + [w for p in q.phrases for w in p] if correctable(w)))
    unknown = lexical.unmatched(words)[:MAX_WORDS] if words else []
    corrections = {}
    for word in unknown:
        best = _nearest(word, lexical, texts)
        if best:
            corrections[word] = best
    if not corrections:
        return None
    return Suggestion(replace_words(q.raw, corrections), corrections)


def _nearest(word: str, lexical, texts: Callable[[list[str]], list[str]]) -> str | None:
    """One edit first, exactly: every stem one edit from the typed word's stem is looked up in
    the index (a few hundred term-dictionary lookups, about a millisecond), the commonest
    first, and the first whose papers use a form of it near the typed word wins. Else two
    edits, from a sample (`_sampled`)."""
    limit = max_distance(word)
    stem = analyze.stems([word])[0]
    freq = {s: f for s, f in lexical.doc_freqs(sorted(_edits(stem))).items() if f}
    for candidate in sorted(freq, key=lambda s: (-freq[s], s))[:MAX_STEMS]:
        ids = lexical.fuzzy_ids(candidate, 0, SAMPLE)  # distance 0: papers with that very stem
        seen = _words(texts(ids), word, limit)
        forms = {w: d for w in seen if analyze.stem(w) == candidate and (d := distance(word, w, limit)) <= limit}
        if forms:
            return min(forms, key=lambda w: (forms[w], abs(len(w) - len(word)), -seen[w], w))
    return _sampled(word, stem, limit, lexical, texts) if limit > 1 or not freq else None


def _edits(stem: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion (a-z) from `stem`."""
    splits = [(stem[:i], stem[i:]) for i in range(len(stem) + 1)]
    return ({a + b[1:] for a, b in splits if b} | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in LETTERS} | {a + c + b for a, b in splits for c in LETTERS}) - {stem}


def _words(texts: list[str], word: str, limit: int) -> Counter:
    """Words of `texts` (folded) of a length within `limit` of `word`'s -> how many texts use them."""
    seen: Counter = Counter()
    shortest, longest = len(word) - limit, len(word) + limit
    for text in texts:
        seen.update({analyze.fold(w) for w in set(analyze.WORD.findall(text.lower())) if shortest <= len(w) <= longest})
    return seen


def _sampled(word: str, stem: str, limit: int, lexical, texts: Callable[[list[str]], list[str]]) -> str | None:
    """Up to two edits: tantivy's fuzzy term query finds papers holding a stem that close; their
    words near the typed one are the candidates (a sample: the papers come in index order)."""
    letters = set(word)
    seen = _words(texts(lexical.fuzzy_ids(stem, limit, SAMPLE)), word, limit)
    # Cheap necessary conditions first (one edit changes at most two letters of the letter
    # set), then the exact distance: a sample holds a few thousand distinct words.
    near = {w: d for w in seen if w != word and correctable(w) and len(letters ^ set(w)) <= 2 * limit
            and (d := distance(word, w, limit)) <= limit and not (d == 2 and _affix(word, w))}
    if not near:
        return None
    freq = lexical.doc_freqs(sorted(set(analyze.stems(list(near)))))
    # Nearest, then commonest stem; between forms of one stem, the one as long as the typed
    # word ("experst" → "experts", not "expert"), then the one most papers of the sample use.
    return min(near, key=lambda w: (near[w], -freq[analyze.stem(w)], abs(len(w) - len(word)), -seen[w], w))


def replace_words(raw: str, corrections: dict[str, str]) -> str:
    """`raw` with each corrected word replaced where it is query text (a bare word or a quoted
    phrase, never a filter's value or an exclusion); quotes, filters and spacing stay as typed.
    A capitalized word keeps its capital."""
    text = (raw or "")[:MAX_QUERY_CHARS]

    def fix_word(m: re.Match) -> str:
        typed = m.group()
        new = corrections.get(analyze.fold(typed))
        if new is None:
            return typed
        return new[:1].upper() + new[1:] if typed[:1].isupper() else new

    def fix_token(m: re.Match) -> str:
        neg, name = m.group(1), m.group(2)
        if neg or (name and name.lower() in FILTERS):
            return m.group()
        return analyze.WORD.sub(fix_word, m.group())

    return TOKEN.sub(fix_token, text)
