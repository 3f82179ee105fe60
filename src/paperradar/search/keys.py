"""A 63-bit integer key per paper id, shared by the lexical and vector indexes.

Integers travel between the indexes as numpy arrays and tantivy fast fields, where strings
would have to be fetched document by document.
"""

from __future__ import annotations

import hashlib


def paper_key(paper_id: str) -> int:
    """Stable across processes and machines (a hash, not Python's salted hash())."""
    digest = hashlib.blake2b(paper_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF
