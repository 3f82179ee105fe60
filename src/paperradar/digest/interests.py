"""What a subscriber typed, cleaned: an email address and interests (topics, categories, authors).

The web form and the CLI both go through here, so the store only ever sees clean values: one
line each, without control or invisible format characters (the rule of `render.one_line`, as
topics come back in digests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import UserError
from ..store.subscribers import CONTENTS
from .render import one_line

MAX_TOPICS = 20
MAX_ITEMS = 50
MAX_LEN = 200

# Deliberately strict: one @, no whitespace or control characters (nothing that could break a
# header), a dotted domain. Deliverability is proven by the confirmation email, not by a regex.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
_CATEGORY = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z-]{1,12})?$", re.IGNORECASE)


class InvalidInput(UserError, ValueError):
    """A subscription field that cannot be accepted; the message says which and why."""


def normalize_email(raw: str) -> str:
    email = (raw or "").strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput(f"not a valid email address: {email[:80]!r}")
    local, domain = email.rsplit("@", 1)
    if ".." in local or local.startswith(".") or local.endswith("."):
        raise InvalidInput(f"not a valid email address: {email[:80]!r}")
    # "=?" opens an RFC 2047 encoded word: some mail software decodes one even in an address,
    # so `=?utf-8?q?x=40evil.test?=@example.com` could be delivered elsewhere than it reads.
    if "=?" in local:
        raise InvalidInput(f"not a valid email address (an encoded word): {email[:80]!r}")
    return email.lower()


def split_lines(text: str | list[str] | None) -> list[str]:
    """One entry per line (or list item), whitespace collapsed, control and format characters
    removed (`one_line`), blanks and repeats dropped."""
    if text is None:
        return []
    lines = text.splitlines() if isinstance(text, str) else [x for item in text for x in str(item).splitlines()]
    seen, out = set(), []
    for line in lines:
        value = one_line(line)
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


@dataclass
class Interests:
    topics: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, topics=None, categories=None, authors=None, *, required: bool = True) -> "Interests":
        """Clean and check; categories may also be separated by spaces or commas. `required=False`
        (a digest of the trending list only) accepts no interests at all."""
        cats = split_lines(re.split(r"[\s,]+", categories) if isinstance(categories, str) else categories)
        result = cls(split_lines(topics), cats, split_lines(authors))
        if len(result.topics) > MAX_TOPICS:
            raise InvalidInput(f"at most {MAX_TOPICS} topics, got {len(result.topics)}")
        for name, values in (("categories", result.categories), ("authors", result.authors)):
            if len(values) > MAX_ITEMS:
                raise InvalidInput(f"at most {MAX_ITEMS} {name}, got {len(values)}")
        for value in result.topics + result.categories + result.authors:
            if len(value) > MAX_LEN:
                raise InvalidInput(f"an interest is longer than {MAX_LEN} characters: {value[:40]!r}...")
        for cat in result.categories:
            if not _CATEGORY.match(cat):
                raise InvalidInput(f"not an arXiv category: {cat!r} (like cs.LG or hep-th)")
        if required and not (result.topics or result.categories or result.authors):
            raise InvalidInput("give at least one topic, category or author")
        return result


def parse_content(content: str) -> str:
    """What a digest holds: interests (papers matching them), trending (the day's trending
    papers) or both."""
    if content not in CONTENTS:
        raise InvalidInput(f"the digest holds {', '.join(CONTENTS[:-1])} or {CONTENTS[-1]}")
    return content
