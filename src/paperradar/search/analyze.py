"""The one text analyzer used to index, to query and to highlight, so all three agree.

Lowercase, fold accents, drop apostrophes inside words ("don't" -> "dont"), split on anything
that is not a letter or digit, then Snowball-stem English. The index stores the analyzed tokens
joined by spaces and tantivy only splits on whitespace, so no query ever depends on tantivy's
own tokenizer.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
import Stemmer

MAX_WORD = 64  # longer "words" are noise (hashes, pasted garbage) and are not indexed
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
WORD = _WORD  # what a word is, for code that rewrites a query's words in place (suggest.py)
_stemmer = Stemmer.Stemmer("english")
_stemmer.maxCacheSize = 200_000

# Dropped from bag-of-words queries only (never from the index or from phrases): at a million
# papers an OR over "the" or "a" touches every document and buys nothing.
STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its "
    "not of on or such that the their then there these they this to was we what when where "
    "which while who why will with without you your our using use used via".split()
)


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Lowercase, strip accents and apostrophes: the surface form before stemming."""
    word = word.lower().replace("'", "").replace("’", "")
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded words of `text`, unstemmed."""
    return [fold(m.group()) for m in _WORD.finditer(text) if len(m.group()) <= MAX_WORD]


def tokens(text: str) -> list[str]:
    """Index tokens of `text`: folded and stemmed, in order (positions matter for phrases)."""
    return _stemmer.stemWords(words(text))


def stems(folded_words: list[str]) -> list[str]:
    """Stems of words already folded by `words` (a query's terms)."""
    return _stemmer.stemWords(folded_words)


def stem(word: str) -> str:
    return _stemmer.stemWord(fold(word))


def index_text(text: str) -> str:
    return " ".join(tokens(text))
