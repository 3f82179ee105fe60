"""Highlighting: the part of a text that best matches a query, with matched words marked.

Works on the original text (so case survives) and compares stems, so "flows" marks "flow".
For speed (this runs for every result shown) a query becomes the stems' prefixes, found with
`str.find` in the lowercased text (5x faster than one regular expression over the text); each
word starting with one is confirmed by stemming it. Returns markupsafe.Markup: everything but
our <mark> tags is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from . import analyze

SNIPPET_CHARS = 280


_REST = re.compile(r"[^\W_]*(?:['’][^\W_]+)?")  # the rest of a word, as analyze.WORD reads one


@dataclass(frozen=True)
class Matcher:
    stems: frozenset[str]
    prefixes: tuple[str, ...]

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of the words of `text` whose stem is one of the query's, in text order."""
        if not self.prefixes:
            return []
        low = text.lower()
        if len(low) != len(text):  # a few characters lowercase to two ("İ" to "i̇"): keep positions
            low = "".join(c.lower()[0] for c in text)
        found: dict[int, int] = {}
        for prefix in self.prefixes:
            i = low.find(prefix)
            while i >= 0:
                if i not in found and (i == 0 or not (low[i - 1].isalnum() or low[i - 1] == "_")):
                    end = _REST.match(low, i + len(prefix)).end()
                    if analyze.stem(text[i:end]) in self.stems:
                        found[i] = end
                i = low.find(prefix, i + 1)
        return sorted(found.items())


def matcher(words: list[str]) -> Matcher:
    """The matcher for a query's words (stopwords ignored unless there is nothing else)."""
    stems = {analyze.stem(w) for w in words if w not in analyze.STOPWORDS} or {analyze.stem(w) for w in words}
    # A Snowball stem is a prefix of the word up to a final y→i or e; strip those to find candidates.
    prefixes = {s.rstrip("ie") if len(s.rstrip("ie")) >= 2 else s for s in stems if s}
    return Matcher(frozenset(stems), tuple(sorted(prefixes)))


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
    return _render(text, inside, start, end, "… " if start > 0 else "", " …" if end < len(text) else "")


def _densest(found: list[tuple[int, int]], width: int) -> int:
    """Start of the match that begins the window of `width` chars holding the most matches."""
    best, best_count, j = found[0][0], 0, 0
    for i, (s, _) in enumerate(found):  # two pointers: found is in text order
        while j < len(found) and found[j][0] < s + width:
            j += 1
        if j - i > best_count:
            best, best_count = s, j - i
    return best


def _render(text: str, found: list[tuple[int, int]], lo: int, hi: int, prefix: str = "", suffix: str = "") -> Markup:
    """text[lo:hi] escaped, the `found` spans in <mark>, between `prefix` and `suffix` (plain text)."""
    if "\x00" in text or "\x01" in text:  # the stand-ins below would be ambiguous: a Markup per part
        out, pos = [escape(prefix)], lo
        for s, e in found:
            out += (escape(text[pos:s]), Markup("<mark>%s</mark>") % text[s:e])
            pos = e
        return Markup("").join([*out, escape(text[pos:hi]), escape(suffix)])
    # One escape of the whole (markupsafe's C code) costs less than a Markup object per part;
    # two control characters, which escaping leaves as they are, stand for the tags.
    parts, pos = [prefix], lo
    for s, e in found:
        parts += (text[pos:s], "\x00", text[s:e], "\x01")
        pos = e
    parts += (text[pos:hi], suffix)
    return Markup(str(escape("".join(parts))).replace("\x00", "<mark>").replace("\x01", "</mark>"))
