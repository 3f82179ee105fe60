"""The papers of recent search results, kept by a search service while the keyword index stays
where it is.

A result page needs its papers from the store: one query, but with the row-to-`Paper` work it
cost ~0.6 ms for 21 papers, a sixth of a keyword search's CPU. Results name the same papers
again and again (a popular paper turns up for many queries), so they are kept. Everything kept is
dropped when the keyword index moves (its state file, rewritten by every sync in any process,
names the build and the feed position it reflects): a paper changes only through the change
feed, so a kept paper is never older than what the index itself answers from, and a server's
follower moves the index within a second or two of a commit. Where nothing moves the index (a
server with following off, or whose syncs keep failing), results keep the papers as they were
when it last moved, as the keyword results themselves do. Bounded: the least recently used go
first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable

from ..models import Paper

PAPERS_KEPT = 4096  # a few MB of titles and abstracts per process


class RecentPapers:
    def __init__(self, fetch: Callable[[list[str]], dict[str, Paper]], version: Callable[[], Hashable],
                 max_items: int = PAPERS_KEPT):
        self._fetch, self._version, self.max_items = fetch, version, max_items
        self._kept: OrderedDict[str, Paper] = OrderedDict()
        self._kept_at: Hashable = None
        self._lock = threading.Lock()

    def get(self, ids: list[str]) -> dict[str, Paper]:
        """The stored papers with these ids (those not stored are left out). The papers are
        shared between searches: read-only."""
        version = self._version()
        with self._lock:
            if version != self._kept_at:
                self._kept.clear()
                self._kept_at = version
            found = {}
            for i in ids:
                if (p := self._kept.get(i)) is not None:
                    self._kept.move_to_end(i)
                    found[i] = p
        missing = [i for i in ids if i not in found]
        if missing:
            fetched = self._fetch(missing)
            found.update(fetched)
            with self._lock:
                if self._kept_at == version:  # else the index moved meanwhile: they may be older
                    self._kept.update(fetched)
                    while len(self._kept) > self.max_items:
                        self._kept.popitem(last=False)
        return found
