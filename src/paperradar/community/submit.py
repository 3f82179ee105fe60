"""Submitting a paper to today's list: the rules, then the listing credited to the member.

A paper not in the store is fetched from the arXiv API (the same polite client as `add`, one
quick try: a person is waiting) and stored only once every rule has passed, so a refused
submission stores nothing.
"""

from __future__ import annotations

import datetime as dt

from ..errors import UserError
from ..harvest.polite import FetchError, PoliteClient
from ..models import Paper
from ..normalize import parse_arxiv_id
from ..sources.arxiv_atom import parse_feed
from ..sources.errors import SourceError
from ..store import Account, Store

FETCH_TIMEOUT_S = 15.0


class SubmitRefused(UserError):
    """A submission broke a rule; the message says which and what to do."""


def fetch_from_arxiv(settings, arxiv_id: str) -> Paper:
    """The paper's latest version from the arXiv API, not stored; SubmitRefused if there is none."""
    client = PoliteClient(pace_s=0, retries=1, backoff_s=1.0, timeout_s=FETCH_TIMEOUT_S)
    endpoint = settings.arxiv_api_endpoint
    try:
        feed = client.fetch(endpoint, {"id_list": arxiv_id, "max_results": "1"}, lambda body: parse_feed(body, endpoint))
    except (FetchError, SourceError) as e:
        raise SubmitRefused(f"arXiv did not answer for {arxiv_id} ({e}); try again in a few minutes") from None
    finally:
        client.close()
    for p in feed.papers:
        if p.arxiv_id == arxiv_id:
            return p
    if feed.errors:  # arXiv's own error entry, or a record our limits refuse: say which
        raise SubmitRefused(f"{arxiv_id}: {feed.errors[0].message}")
    raise SubmitRefused(f"arXiv has no paper {arxiv_id}")


def submit(store: Store, settings, account: Account, ref: str, *, now: dt.datetime, fetch=fetch_from_arxiv) -> Paper:
    """List the paper `ref` (an arXiv id or abs/pdf URL) on today's list for `account`.

    Rules, each a setting: the paper's v1 is at most `submit_max_age_days` old; a paper is
    listed once; a member submits at most `submit_daily_limit` papers a day.
    """
    today = now.date()
    parsed = parse_arxiv_id((ref or "").strip()[:200])
    if parsed is None:
        raise SubmitRefused(f"{ref.strip()[:80]!r} is not an arXiv id (like 2401.01234) or an arxiv.org abs/pdf URL")
    arxiv_id = parsed[0]
    if store.submitted_on(account.id, today) >= settings.submit_daily_limit:
        raise SubmitRefused(f"you have submitted {settings.submit_daily_limit} papers today, the most a member may; "
                            "try again tomorrow")
    paper = store.get_paper(arxiv_id)
    listing = store.get_listing(paper.id) if paper else None
    if listing is not None:
        raise SubmitRefused(f"{arxiv_id} is already listed, on {listing.day.isoformat()}")
    fresh = paper is None
    if fresh:
        paper = fetch(settings, arxiv_id)
    if paper.published is None:
        raise SubmitRefused(f"arXiv gives no date for {arxiv_id}, so its age cannot be checked")
    age = (today - paper.published).days
    if age > settings.submit_max_age_days:
        raise SubmitRefused(f"{arxiv_id} first appeared on {paper.published.isoformat()}, {age} days ago; "
                            f"only papers at most {settings.submit_max_age_days} days old can be submitted")
    if fresh:
        paper = store.get_paper(store.upsert_papers([paper]).ids[0])
    if not store.submit_listing(paper.id, day=today, account_id=account.id, now=now):
        listing = store.get_listing(paper.id)
        raise SubmitRefused(f"{arxiv_id} is already listed, on {listing.day.isoformat()}")
    store.set_vote(account.id, paper.id, True, now)  # a submitter upvotes what they submit, as on HF
    return paper
