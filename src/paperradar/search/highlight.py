"""Highlighting: the part of a text that best matches a query, with matched words marked.

Works on the original text (so case survives) and compares stems, so "flows" marks "flow".
For speed (this runs for every result shown) a query becomes one regular expression of stem
prefixes; each word it finds is confirmed by stemming it. Returns markupsafe.Markup:
everything but our <mark> tags is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from . import analyze

SNIPPET_CHARS = 280


@dataclass(frozen=True)
class Matcher:
    stems: frozenset[str]
    pattern: re.Pattern | None

    def find(self, text: str) -> list[tuple[int, int]]:
        if self.pattern is None:
            return []
        return [(m.start(), m.end()) for m in self.pattern.finditer(text)
                if analyze.stem(m.group()) in self.stems]


def matcher(words: list[str]) -> Matcher:
    """The matcher for a query's words (stopwords ignored unless there is nothing else)."""
    stems = {analyze.stem(w) for w in words if w not in analyze.STOPWORDS} or {analyze.stem(w) for w in words}
    # A Snowball stem is a prefix of the word up to a final y→i or e; strip those to find candidates.
    prefixes = sorted({s.rstrip("ie") if len(s.rstrip("ie")) >= 2 else s for s in stems if s}, key=len, reverse=True)
    if not prefixes:
        return Matcher(frozenset(), None)
    # The lookahead on the prefixes' first letters rejects most word starts before the
    # alternation is tried: half the time on an abstract for a 10-word query.
    first = "".join(sorted({p[0] for p in prefixes}))
    pattern = re.compile(r"\b(?=[" + re.escape(first) + r"])(?:" + "|".join(map(re.escape, prefixes))
                         + r")[^\W_]*(?:['’][^\W_]+)?", re.IGNORECASE)
    return Matcher(frozenset(stems), pattern)


def mark(text: str, m: Matcher) -> Markup:
    """All of `text`, escaped, with matching words wrapped in <mark>."""
    return _render(text, m.find(text), 0, len(text))


def snippet(text: str, m: Matcher, width: int = SNIPPET_CHARS) -> Markup:
    """About `width` characters around the densest cluster of matches, cut at word boundaries."""
    found = m.find(text)
    if len(text) <= width:
        return _render(text, found, 0, len(text))
    start = 0
    if found:
        start = max(0, _densest(found, width) - 40)
    end = min(len(text), start + width)
    start = max(0, end - width)
    if start > 0:  # begin and end on whole words
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 30 else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    inside = [(s, e) for s, e in found if s >= start and e <= end]
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return Markup(prefix) + _render(text, inside, start, end) + Markup(suffix)


def _densest(found: list[tuple[int, int]], width: int) -> int:
    """Start of the match that begins the window of `width` chars holding the most matches."""
    best, best_count, j = found[0][0], 0, 0
    for i, (s, _) in enumerate(found):  # two pointers: found is in text order
        while j < len(found) and found[j][0] < s + width:
            j += 1
        if j - i > best_count:
            best, best_count = s, j - i
    return best


def _render(text: str, found: list[tuple[int, int]], lo: int, hi: int) -> Markup:
    parts: list[str] = []
    pos = lo
    for s, e in found:
        parts.append(str(escape(text[pos:s])))
        parts.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    parts.append(str(escape(text[pos:hi])))
    return Markup("".join(parts))
