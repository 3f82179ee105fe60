"""One normalization for every source: whitespace, TeX accents, titles for dedupe, arXiv ids, paper ids.

Every source's records pass through `normalize_paper` before they reach the store, so the same
paper arriving from two sources is recognised as one.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

from . import limits
from .models import Paper

_KEY_WORD = re.compile(r"[a-z0-9]+")
_NEW_ID = re.compile(r"^(\d{4}\.\d{4,5})(?:v(\d+))?$")
# Archive names are short words ("hep-th", "solv-int"); bounded, so an id always fits its column.
_OLD_ID = re.compile(r"^([a-z][a-z\-]{0,31}(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?$")
_ARXIV_PREFIX = re.compile(r"^arxiv:", re.IGNORECASE)
_URL_PREFIX = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/", re.IGNORECASE
)


def clean_text(text: str | None) -> str:
    """Collapse runs of whitespace (newlines, tabs, NBSP) to one space and strip."""
    if not text:
        return ""
    # The common case first, four C-speed scans: line breaks inside otherwise clean text (an
    # arXiv abstract). Printable text holds no whitespace but " " and no NUL, so with no double
    # space it is already what the split below would make; half the cost on an abstract.
    flat = text.strip().replace("\n", " ")
    if flat.isprintable() and "  " not in flat:
        return flat
    return " ".join(text.replace("\x00", "").split())


# TeX accent commands and the Unicode combining mark each one stands for.
_SYMBOL_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
                   "=": "\u0304", ".": "\u0307"}
_LETTER_ACCENTS = {"u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
                   "r": "\u030a", "d": "\u0323", "b": "\u0331"}
_SPECIALS = {"ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ",
             "OE": "Œ", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ"}
# The accented letter: `e`, `{e}`, `\i` or `{\i}` (dotless i/j under an accent become i/j).
_BASE = r"(?:\{\s*(\\[ij](?![A-Za-z])|[A-Za-z])\s*\}|(\\[ij](?![A-Za-z])|[A-Za-z]))"
_ACCENT = (r"\\(?:([" + re.escape("".join(_SYMBOL_ACCENTS)) + r"])\s*" + _BASE
           + r"|([" + "".join(_LETTER_ACCENTS) + r"])(?:\s*\{\s*(\\[ij](?![A-Za-z])|[A-Za-z])\s*\}|\s+([A-Za-z])))")
_SPECIAL = r"\\(" + "|".join(sorted(_SPECIALS, key=len, reverse=True)) + r")(?![A-Za-z])(?:\{\}| (?=[A-Za-z]))?"
# A braced group holding just one accent (`{\"o}`) loses its braces with the conversion.
_TEX = re.compile(r"\{(" + _ACCENT + "|" + _SPECIAL + r")\}|" + _ACCENT + "|" + _SPECIAL)
_TEX_ESCAPES = re.compile(r"\\([&%#])")
_MATH = re.compile(r"(\$\$?)(?:\\.|[^$\\])+?\1")


def _tex_char(m: re.Match) -> str:
    inner = m.group(1)
    if inner is not None:  # the braced form: convert what is inside the braces
        return _TEX.sub(_tex_char, inner)
    g = m.groups()
    # groups: 0 braced, then (sym, base{}, base, letter, base{}, base) and special, twice over
    # (inside the braced alternative and bare); the bare ones are the last seven.
    sym, b1, b2, let, b3, b4, special = g[-7:]
    if special:
        return _SPECIALS[special]
    base = b1 or b2 or b3 or b4
    base = base[1] if base.startswith("\\") else base
    mark = _SYMBOL_ACCENTS[sym] if sym else _LETTER_ACCENTS[let]
    return unicodedata.normalize("NFC", base + mark)


def tex_to_unicode(text: str) -> str:
    """Turn TeX accent commands (`\\'e`, `{\\"o}`, `\\v{c}`, `\\ss`) into Unicode letters.

    Math (`$...$`) is left alone, as is every other command; text without a backslash is
    returned as is, so calling it twice changes nothing.
    """
    if not text or "\\" not in text:
        return text
    out, last = [], 0
    for m in _MATH.finditer(text):
        out.append(_convert(text[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_convert(text[last:]))
    return "".join(out)


def _convert(text: str) -> str:
    if "\\" not in text:
        return text
    return _TEX_ESCAPES.sub(r"\1", _TEX.sub(_tex_char, text))


@functools.lru_cache(maxsize=1 << 16)  # the upsert asks for one title's key several times
def title_key(title: str) -> str:
    """A key under which two spellings of one title compare equal (case, accents, punctuation)."""
    if title.isascii():  # NFKD leaves ASCII alone and it has no combining marks: skip both
        return " ".join(_KEY_WORD.findall(title.lower()))
    decomposed = unicodedata.normalize("NFKD", title)
    ascii_ish = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_KEY_WORD.findall(ascii_ish.lower()))


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """Split an arXiv id or abs/pdf URL into (id without version, version or None).

    Accepts new-style (2401.01234, 2401.01234v2), old-style (hep-th/9901001v1, math.GT/0309136),
    `arXiv:` prefixes and abs/pdf URLs with or without `.pdf`. Returns None if it is not one.
    """
    m = _NEW_ID.fullmatch(text)
    if m:  # a bare new-style id, as every snapshot line has: skip the clean-up below
        return m.group(1), int(m.group(2)) if m.group(2) else None
    s = text.strip()
    s = _URL_PREFIX.sub("", s)
    s = _ARXIV_PREFIX.sub("", s)
    s = s.split("?")[0].split("#")[0].rstrip("/")
    if s.endswith(".pdf"):
        s = s[:-4]
    for pattern in (_NEW_ID, _OLD_ID):
        m = pattern.match(s)
        if m:
            return m.group(1), int(m.group(2)) if m.group(2) else None
    return None


def _same(text: str) -> str:
    return text


def derived_id(title: str) -> str:
    """A stable id for a paper with no arXiv id: derived from its normalized title."""
    return "t" + hashlib.sha1(title_key(title).encode("utf-8")).hexdigest()[:11]


def normalize_paper(paper: Paper, *, tex: bool = False, notes: list[str] | None = None) -> Paper:
    """Apply the shared cleanups, fill in the id and hold every field within its bound
    (`limits.py`); sources may leave any of this undone.

    `tex=True` is for formats that carry TeX accents (arXiv's OAI, API and snapshot): title,
    abstract and authors go through `tex_to_unicode`. Sources that already give Unicode leave
    it off, so a literal backslash there survives. A field over its bound raises
    `limits.TooLarge` (the record is skipped), or is cut with a line in `notes` (else the log).
    """
    fix = tex_to_unicode if tex else _same
    arxiv_id, version = paper.arxiv_id, paper.version
    if arxiv_id:
        parsed = parse_arxiv_id(arxiv_id)
        if parsed:
            arxiv_id, parsed_version = parsed
            version = version or parsed_version
    title = clean_text(fix(paper.title))
    categories = [c for c in dict.fromkeys(clean_text(c) for c in paper.categories) if c]
    primary = paper.primary_category or (categories[0] if categories else None)
    if primary and primary not in categories:
        categories.insert(0, primary)
    fields = dict(
        id=paper.id or arxiv_id or derived_id(title),
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=clean_text(fix(paper.abstract)),
        authors=[a for a in (clean_text(fix(a)) for a in paper.authors) if a],
        categories=categories,
        primary_category=primary,
        doi=clean_text(paper.doi).lower() or None,
        journal_ref=clean_text(paper.journal_ref) or None,
        comments=clean_text(paper.comments) or None,
        license=clean_text(paper.license) or None,
    )
    limits.bound(fields, notes)
    # A shallow copy with the fields set: what `Paper.replace` gives, without re-running
    # __init__ (this runs once per record of a multi-million-line snapshot).
    out = object.__new__(type(paper))
    out.__dict__.update(paper.__dict__)
    out.__dict__.update(fields)
    return out
