"""What a web process keeps between requests: data derived from the store (a day's list, a
paper's similar papers, the listings of search results) and anonymous visitors' pages, until
the store changes.

Keyed on the store's version (Store.lists_version: the lists' version, moved in the same
transaction as every listing, vote or handle change, and the change feed's newest position), read
once per request with one indexed query. A vote therefore shows on the very next page load, in
this process or any other: the voter's own redirect reads the new version and derives again.

Never shared between visitors: who voted for what (each member's votes are read per request on
top of the shared list), the signed-in header, the CSRF token. A whole page is kept only for a
visitor with no session, rendered with a placeholder where the CSRF token goes, which each
response replaces with its own browser's token (`pages.render_cached`).

Bounded: the least recently used entries go first once `max_bytes` of pages or `max_items`
data entries are kept, so query strings made up to fill it only make misses.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

from starlette.requests import Request

T = TypeVar("T")
MAX_ITEMS = 2000  # derived data entries (a day's list, a paper and its neighbours)
MAX_EACH = 10_000  # rows kept one by one (`many`): a paper's listing is ~1 KB
MAX_BYTES = 32 * 1024 * 1024  # rendered pages, per process
# Put where a page's CSRF token goes and replaced per response; random per process, so a
# paper's text cannot contain it.
TOKEN_PLACEHOLDER = "csrf" + secrets.token_hex(16)


class PageCache:
    def __init__(self, store, *, max_items: int = MAX_ITEMS, max_bytes: int = MAX_BYTES):
        self.store, self.max_items, self.max_bytes = store, max_items, max_bytes
        self._version: tuple[int, int] = (-1, -1)
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._each: OrderedDict[Hashable, object] = OrderedDict()
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._page_bytes = 0
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}  # keys being made, one request each
        self.hits = self.misses = 0

    def version(self, request: Request) -> tuple[int, int]:
        """The store's version as this request sees it (read once per request); what was kept
        for an older version is dropped. It only moves forward: a request that read a version
        just before another's newer one may get what was derived since (newer, never older)."""
        state = request.scope.setdefault("state", {})
        if "store_version" not in state:
            state["store_version"] = self.store.lists_version()
            with self._lock:
                if state["store_version"] > self._version:
                    self._version = state["store_version"]
                    self._data.clear()
                    self._each.clear()
                    self._pages.clear()
                    self._page_bytes = 0
        return state["store_version"]

    def data(self, request: Request, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`'s value for `key` at this request's store version. The value is shared: treat
        it as read-only. None (nothing found) is not kept: made-up ids would push out the rest."""
        return self._get(request, self._data, ("data", key), make)

    def many(self, request: Request, kind: str, keys: list[Hashable], fetch: Callable[[list], dict]) -> dict:
        """`fetch(keys)` ({key: value}, leaving out keys it has no value for) at this request's
        store version, each key kept on its own: a result page's listings are read with one
        query for the papers no earlier request asked for (that read cost ~0.3 ms of CPU for 20
        papers, the version ~15 us). A key `fetch` left out is kept as having no
        value."""
        version = self.version(request)
        found, missing = {}, []
        with self._lock:
            for key in keys:
                value = self._each.get((kind, key), self)  # the cache itself: not kept
                if value is self:
                    missing.append(key)
                else:
                    self._each.move_to_end((kind, key))
                    if value is not None:
                        found[key] = value
        if missing:
            fetched = fetch(missing)
            found.update(fetched)
            with self._lock:
                if version == self._version:  # not already stale
                    for key in missing:
                        self._each[kind, key] = fetched.get(key)
                    while len(self._each) > MAX_EACH:
                        self._each.popitem(last=False)
        return found

    def page(self, request: Request, key: Hashable, make: Callable[[], str]) -> str:
        """A rendered page for `key` at this request's store version (with TOKEN_PLACEHOLDER)."""
        return self._get(request, self._pages, ("page", key), make)

    def _get(self, request: Request, kept: OrderedDict, key: Hashable, make: Callable[[], T]) -> T:
        version = self.version(request)
        found = self._lookup(kept, key)
        if found is not None:
            return found
        # One request makes it while the others asking for it wait: when a change (a vote, a
        # new minute for trending) drops a busy page, eight threads deriving it side by side
        # would take eight times the CPU under one GIL, and every one of them as long.
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:
            found = self._lookup(kept, key)
            if found is not None:
                return found
            try:
                value = make()
                with self._lock:
                    self.misses += 1
                    if value is not None and version == self._version:  # not already stale
                        self._keep(kept, key, value)
            finally:
                with self._lock:
                    if self._making.get(key) is making:
                        del self._making[key]
        return value

    def _lookup(self, kept: OrderedDict, key: Hashable):
        with self._lock:
            value = kept.get(key)
            if value is not None:
                kept.move_to_end(key)
                self.hits += 1
            return value

    def _keep(self, kept: OrderedDict, key: Hashable, value) -> None:
        if kept is self._data:
            kept[key] = value
            while len(kept) > self.max_items:
                kept.popitem(last=False)
        elif len(value) <= self.max_bytes // 8:
            kept[key] = value
            self._page_bytes += len(value)
            while self._page_bytes > self.max_bytes:
                _, old = kept.popitem(last=False)
                self._page_bytes -= len(old)
