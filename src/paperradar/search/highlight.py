"""Highlighting: the part of a text that best matches a query, with matched words marked.

Works on the original text (so accents and case survive) and compares stems, so "flows"
marks "flow". Returns markupsafe.Markup: everything but our <mark> tags is escaped.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from . import analyze


def query_stems(words: list[str]) -> set[str]:
    stems = {analyze.stem(w) for w in words if w not in analyze.STOPWORDS}
    return stems or {analyze.stem(w) for w in words}


def mark(text: str, stems: set[str]) -> Markup:
    """All of `text`, escaped, with words whose stem is in `stems` wrapped in <mark>."""
    return _render(text, 0, len(text), stems)


def snippet(text: str, stems: set[str], width: int = 40) -> Markup:
    """About `width` words around the densest cluster of matches, with ellipses where cut."""
    spans = list(analyze.spans(text))
    if len(spans) <= width:
        return mark(text, stems)
    hits = [i for i, (_, _, tok) in enumerate(spans) if tok in stems]
    start = 0
    if hits:
        # the window of `width` words that holds the most hits, starting a little before the first
        best = max(hits, key=lambda h: sum(1 for x in hits if h <= x < h + width))
        start = max(0, best - 5)
    end = min(len(spans), start + width)
    start = max(0, end - width)
    lo = spans[start][0]
    hi = spans[end - 1][1] if end < len(spans) else len(text)
    out = _render(text, lo, hi, stems)
    prefix = Markup("… ") if lo > 0 else Markup("")
    suffix = Markup(" …") if hi < len(text) else Markup("")
    return prefix + out + suffix


def _render(text: str, lo: int, hi: int, stems: set[str]) -> Markup:
    parts: list[Markup | str] = []
    pos = lo
    for s, e, tok in analyze.spans(text[lo:hi]):
        s, e = s + lo, e + lo
        if tok in stems:
            parts.append(escape(text[pos:s]))
            parts.append(Markup("<mark>") + escape(text[s:e]) + Markup("</mark>"))
            pos = e
    parts.append(escape(text[pos:hi]))
    return Markup("").join(parts)
