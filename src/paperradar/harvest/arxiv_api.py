"""`add`: fetch papers by arXiv id or URL from the arXiv API (Atom), a batch of ids per request.

Ids are read with `parse_arxiv_id` (new- and old-style, with or without a version, abs/pdf URLs)
and asked for without their version, so the store gets the latest one. Requests go through the
same `PoliteClient` as the OAI harvest, at the same pace. An id the API answers with an error
entry, or leaves out of its answer, is reported against that id; the other ids are stored.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..config import Settings
from ..normalize import parse_arxiv_id
from ..sources.arxiv_atom import AtomFeed, parse_feed
from ..store import Store
from .arxiv_oai import client_from
from .jobs import Counts, OnChange, ProgressFn, recorded_run
from .polite import PoliteClient


@dataclass
class AddResult:
    counts: Counts
    stored: list[str] = field(default_factory=list)  # paper ids stored (added, updated or unchanged)
    failed: dict[str, str] = field(default_factory=dict)  # what the user typed -> why it failed
    done: set[str] = field(default_factory=set)  # arXiv ids answered (stored or failed)


def add_ids(store: Store, settings: Settings, refs: list[str], *, endpoint: str | None = None,
            progress: ProgressFn | None = None, on_change: OnChange | None = None,
            client: PoliteClient | None = None) -> AddResult:
    """Fetch and store each id or URL in `refs`; failures are per id, never for the whole call."""
    endpoint = endpoint or settings.arxiv_api_endpoint
    result = AddResult(Counts())
    wanted: dict[str, str] = {}  # arXiv id (no version) -> what the user typed
    for ref in refs:
        parsed = parse_arxiv_id(ref)
        if parsed is None:
            result.failed[ref] = "not an arXiv id or abs/pdf URL"
        else:
            wanted.setdefault(parsed[0], ref)
    ids = list(wanted)
    own_client = client is None
    client = client or client_from(settings)
    size = max(1, settings.api_batch)
    sent_before = client.requests
    # arXiv answers a batch holding one malformed id with that id's error alone, so the other
    # ids of such a batch go round once more without it.
    queue = deque(ids[i : i + size] for i in range(0, len(ids), size))
    retried: set[str] = set()
    try:
        with recorded_run(store, "add", result.counts):
            while queue:
                chunk = queue.popleft()
                params = {"id_list": ",".join(chunk), "max_results": str(len(chunk))}
                feed = client.fetch(endpoint, params, lambda body: parse_feed(body, endpoint))
                again = _store(store, feed, chunk, wanted, result, on_change)
                again = [i for i in again if i not in retried]
                retried.update(again)
                if again:
                    queue.append(again)
                for arxiv_id in chunk:
                    if arxiv_id not in again and arxiv_id not in result.done:
                        result.failed.setdefault(wanted[arxiv_id], "not found on arXiv")
                        result.done.add(arxiv_id)
                if progress is not None:
                    progress(result.counts.records, len(result.done), len(ids))
            result.counts.requests = client.requests - sent_before
            for ref, message in result.failed.items():
                result.counts.add_error(f"{ref}: {message}")
    finally:
        if own_client:
            client.close()
    return result


def _store(store: Store, feed: AtomFeed, chunk: list[str], wanted: dict[str, str], result: AddResult,
           on_change: OnChange | None) -> list[str]:
    """Store what the feed holds and record its errors; returns the ids to ask for again."""
    papers = [p for p in feed.papers if p.arxiv_id in wanted]
    result.counts.records += len(papers)
    upserted, _ = store.apply_batch(papers)
    result.counts.add_result(upserted)
    result.stored.extend(upserted.ids)
    result.done.update(p.arxiv_id for p in papers)
    if on_change is not None and (upserted.added or upserted.updated):
        on_change(upserted)
    named = False
    for error in feed.errors:
        parsed = parse_arxiv_id(error.arxiv_id) if error.arxiv_id else None
        if parsed and parsed[0] in wanted:
            result.failed.setdefault(wanted[parsed[0]], error.message)
            result.done.add(parsed[0])
            named = True
        else:  # an error naming no id of ours: it is the answer for the whole batch
            for arxiv_id in chunk:
                if arxiv_id not in result.done:
                    result.failed.setdefault(wanted[arxiv_id], error.message)
                    result.done.add(arxiv_id)
    return [i for i in chunk if i not in result.done] if named else []
