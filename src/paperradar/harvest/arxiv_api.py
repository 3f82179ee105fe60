"""`add`: fetch papers by arXiv id or URL from the arXiv API (Atom), a batch of ids per request.

Ids are read with `parse_arxiv_id` (new- and old-style, with or without a version, abs/pdf URLs)
and asked for without their version, so the store gets the latest one. Requests go through the
same `PoliteClient` as the OAI harvest, at the same pace. An id the API answers with an error
entry, or leaves out of its answer, is reported against that id; the other ids are stored.
"""

from __future__ import annotations

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
    batch = max(1, settings.api_batch)
    sent_before = client.requests
    try:
        with recorded_run(store, "add", result.counts):
            for i in range(0, len(ids), batch):
                chunk = ids[i : i + batch]
                params = {"id_list": ",".join(chunk), "max_results": str(len(chunk))}
                feed = client.fetch(endpoint, params, lambda body: parse_feed(body, endpoint))
                _store(store, feed, chunk, wanted, result, on_change)
                if progress is not None:
                    progress(result.counts.records, min(i + batch, len(ids)), len(ids))
            result.counts.requests = client.requests - sent_before
            for ref, message in result.failed.items():
                result.counts.add_error(f"{ref}: {message}")
    finally:
        if own_client:
            client.close()
    return result


def _store(store: Store, feed: AtomFeed, chunk: list[str], wanted: dict[str, str], result: AddResult,
           on_change: OnChange | None) -> None:
    papers = [p for p in feed.papers if p.arxiv_id in wanted]
    result.counts.records += len(papers)
    upserted, _ = store.apply_batch(papers)
    result.counts.add_result(upserted)
    result.stored.extend(upserted.ids)
    if on_change is not None and (upserted.added or upserted.updated):
        on_change(upserted)
    answered = {p.arxiv_id for p in papers}
    for error in feed.errors:
        parsed = parse_arxiv_id(error.arxiv_id) if error.arxiv_id else None
        targets = [parsed[0]] if parsed and parsed[0] in wanted else [i for i in chunk if i not in answered]
        for arxiv_id in targets:
            result.failed.setdefault(wanted[arxiv_id], error.message)
            answered.add(arxiv_id)
    for arxiv_id in chunk:
        if arxiv_id not in answered:
            result.failed.setdefault(wanted[arxiv_id], "not found on arXiv")
