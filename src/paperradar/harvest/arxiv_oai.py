"""`harvest arxiv`: an OAI-PMH window into the store, checkpointed after every page.

The checkpoint (one JSON value in `meta`, keyed by endpoint, set and format) holds the window,
the resumptionToken to continue with and `next_from`: where the next run starts when no `from`
is given (the day of the responseDate that completed the last list; see `_next_from`). Each page's
papers, withdrawn ids and checkpoint are committed in one transaction, so a harvest killed at any
point resumes with the first page it had not stored.
"""

from __future__ import annotations

import datetime as dt
import json

from ..config import Settings
from ..models import Listing, Paper
from ..sources.arxiv_sets import set_spec as to_set_spec
from ..store import Store
from .jobs import Counts, OnChange, ProgressFn, recorded_run
from .oai import Window, list_pages
from .polite import PoliteClient


def checkpoint_key(endpoint: str, set_spec: str | None, fmt: str) -> str:
    return f"harvest:oai:{endpoint}:{set_spec or '*'}:{fmt}"


def client_from(settings: Settings) -> PoliteClient:
    return PoliteClient(pace_s=settings.harvest_pace_s, retries=settings.harvest_retries,
                        backoff_s=settings.harvest_backoff_s, timeout_s=settings.harvest_timeout_s)


def harvest_arxiv(store: Store, settings: Settings, set_name: str | None = None, from_date: str | None = None,
                  until_date: str | None = None, fmt: str | None = None, *, default_from: str | None = None,
                  endpoint: str | None = None, progress: ProgressFn | None = None,
                  on_change: OnChange | None = None, client: PoliteClient | None = None) -> Counts:
    """Harvest one set (a category like `cs.LG`, an archive or an OAI set spec; None: all of arXiv).

    `from_date` None continues from the checkpoint (an unfinished list resumes at its token;
    a finished one starts at its `next_from`), else from `default_from`, else from the start.
    """
    endpoint = endpoint or settings.oai_endpoint
    fmt = fmt or settings.harvest_format
    spec = to_set_spec(set_name) if set_name else None
    key = checkpoint_key(endpoint, spec, fmt)
    state = json.loads(store.get_meta(key) or "{}")
    token = None
    if state.get("token") and from_date in (None, state.get("from")) and until_date in (None, state.get("until")):
        window = Window(spec, state.get("from"), state.get("until"), fmt)
        token = state["token"]
    else:
        window = Window(spec, from_date or state.get("next_from") or default_from, until_date, fmt)
    counts = Counts()
    own_client = client is None
    client = client or client_from(settings)
    sent_before = client.requests
    try:
        with recorded_run(store, "harvest-arxiv", counts):
            _run(store, client, endpoint, window, token, state, key, counts, progress, on_change, sent_before)
    finally:
        counts.requests = client.requests - sent_before
        if own_client:
            client.close()
    return counts


def _run(store, client, endpoint, window, token, state, key, counts, progress, on_change, sent_before) -> None:
    for page in list_pages(client, endpoint, window, token):
        oai = page.oai
        if page.restarted:
            counts.restarts += 1
        counts.pages += 1
        counts.records += len(oai.papers)
        counts.deleted += len(oai.deleted)
        for err in oai.errors:
            counts.add_error(str(err))
        done = not oai.token
        checkpoint = {
            "from": window.from_date, "until": window.until_date, "token": oai.token,
            "response_date": oai.response_date,
            "next_from": _next_from(window, oai.response_date, state.get("next_from")) if done else state.get("next_from"),
        }
        list_announced(oai.papers, oai.response_date)
        result, withdrawn = store.apply_batch(oai.papers, withdrawn=oai.deleted,
                                              checkpoint=(key, json.dumps(checkpoint, sort_keys=True)))
        counts.add_result(result)
        counts.withdrawn += withdrawn
        counts.requests = client.requests - sent_before
        if on_change is not None and (result.added or result.updated or withdrawn):
            on_change(result)
        if progress is not None:
            seen = (oai.cursor or 0) + len(oai.papers) + len(oai.deleted) if oai.cursor is not None else counts.records
            progress(counts.records, seen, oai.complete_list_size)


ANNOUNCED_WITHIN = dt.timedelta(days=7)


def list_announced(papers: list[Paper], response_date: str) -> None:
    """Harvested papers enter the daily lists on the day arXiv announced them: the day of the
    harvest for a paper whose v1 is at most a week old (the nightly update), else the day of its
    v1, so a backfill lists old papers on their own days rather than flooding today's list.
    The store keeps a paper's first listing, so a later version never moves it."""
    try:
        today = dt.date.fromisoformat(response_date[:10])
    except (TypeError, ValueError):
        today = None
    for p in papers:
        if p.published is None:
            continue
        recent = today is not None and today - p.published <= ANNOUNCED_WITHIN
        p.listing = Listing(day=today if recent else p.published, source="oai")


def _next_from(window: Window, response_date: str, previous: str | None) -> str | None:
    """Where the next run without --from starts once this list is complete.

    An open window ends at the repository's clock: the day of its last response (from is
    inclusive, so nothing changed later that day is missed). A window with `until` is a
    backfill: it leaves an earlier incremental position alone, and on a fresh set continues
    the day after `until`, so no day between `until` and now is skipped.
    """
    today = response_date[:10] or None
    if window.until_date is None:
        return today
    if previous:
        return previous
    after = (dt.date.fromisoformat(window.until_date) + dt.timedelta(days=1)).isoformat()
    return min(after, today) if today else after
