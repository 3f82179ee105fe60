"""Atom feeds (RFC 4287) for every list and search: a saved search is a feed.

    /feeds/daily.atom[?date=D]           the latest (or a given) day's list, by votes
    /feeds/trending.atom[?window=week]    trending over the last day, week or month
    /feeds/search.atom?q=...&mode=...     any search, newest results first
    /feeds/category/{category}.atom       papers in an arXiv category, newest first
    /feeds/author/{name}.atom             papers by an author, newest first

Built with lxml from the same data functions as the pages. Entry ids are the paper's URL here
(stable whatever the feed), times are RFC 3339 UTC, and every answer carries an ETag and
Last-Modified so readers poll with a conditional GET and get 304 when nothing changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from lxml import etree

from ..community import daily, periods
from ..models import Paper
from ..search.service import MODES
from ..store import now as utcnow
from .api import MAX_QUERY
from .deps import RadarDep, in_search_thread

router = APIRouter(prefix="/feeds", tags=["feeds"], responses={
    200: {"content": {"application/atom+xml": {}}, "description": "An Atom 1.0 feed (RFC 4287)"},
    304: {"description": "Not modified since the reader's If-None-Match / If-Modified-Since"},
    400: {"description": "A parameter is malformed (a date, a window, an empty or too long q)"}})
ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
SIZE = 50
EPOCH = dt.datetime(1970, 1, 1)


def _rfc3339(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        value = EPOCH
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def _updated(p: Paper, listing) -> dt.datetime:
    """When an entry last changed for a reader: its listing, else when we first saw it."""
    if listing is not None:
        return listing.listed_at
    return p.first_seen_at or (dt.datetime.combine(p.published, dt.time()) if p.published else EPOCH)


def build(title: str, self_url: str, page_url: str, items: list[tuple[Paper, object]], base: str) -> tuple[bytes, dt.datetime]:
    """(the Atom document, its newest update time) for (paper, listing or None) items."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    newest = max((_updated(p, li) for p, li in items), default=EPOCH)

    def sub(parent, tag, text=None, **attrs):
        el = etree.SubElement(parent, f"{{{ATOM}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", self_url)
    sub(feed, "title", title)
    sub(feed, "updated", _rfc3339(newest))
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    sub(feed, "generator", "paperradar")
    author = sub(feed, "author")
    sub(author, "name", "paperradar")
    for p, li in items:
        page = f"{base}/papers/{quote(p.id, safe='/')}"
        entry = sub(feed, "entry")
        sub(entry, "id", page)
        sub(entry, "title", p.title)
        sub(entry, "updated", _rfc3339(_updated(p, li)))
        if p.published:
            sub(entry, "published", _rfc3339(p.published))
        for name in p.authors or ["unknown"]:
            sub(sub(entry, "author"), "name", name)
        sub(entry, "summary", p.abstract or p.title, type="text")
        sub(entry, "link", rel="alternate", type="text/html", href=page)
        for rel_title, url, kind in (("arXiv", p.abs_url, "text/html"), ("PDF", p.pdf_url, "application/pdf")):
            if url and url.startswith(("https://", "http://")):
                sub(entry, "link", rel="related", type=kind, title=rel_title, href=url)
        for c in p.categories:
            sub(entry, "category", term=c)
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8"), newest


def answer(request: Request, body: bytes, newest: dt.datetime) -> Response:
    """The feed, or 304 when the reader's ETag or date shows it has this version already."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    last_modified = format_datetime(newest.replace(tzinfo=dt.timezone.utc, microsecond=0), usegmt=True)
    headers = {"ETag": etag, "Last-Modified": last_modified, "Cache-Control": "public, max-age=300"}
    match = request.headers.get("if-none-match")
    if match is not None:
        if etag in [m.strip() for m in match.split(",")] or match.strip() == "*":
            return Response(status_code=304, headers=headers)
    elif _not_modified_since(request.headers.get("if-modified-since"), newest):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


def _not_modified_since(header: str | None, newest: dt.datetime) -> bool:
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is not None:
        since = since.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return newest.replace(microsecond=0) <= since


def _self(request: Request) -> str:
    base = request.app.state.settings.public_url
    return f"{base}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")


def _listed(view) -> list[tuple[Paper, object]]:
    return [(e.paper, e.listing) for e in view.entries]


@router.get("/daily.atom", summary="Atom feed of a day's list (default: the latest day)")
def daily_feed(request: Request, radar: RadarDep, date: str | None = Query(None, max_length=10)):
    now = utcnow()
    period = periods.parse("date", date) if date else daily.latest_period(radar.store, now.date())
    view = daily.view(radar.store, period, sort="votes", now=now, size=SIZE)
    base = radar.settings.public_url
    body, newest = build(f"paperradar: papers of {period.label}", _self(request), base + period.path, _listed(view), base)
    return answer(request, body, newest)


@router.get("/trending.atom", summary="Atom feed of trending papers")
def trending_feed(request: Request, radar: RadarDep, window: str = Query("week", max_length=8)):
    now = utcnow()
    view = daily.view(radar.store, daily.window(radar.store, window, now), sort="trending", now=now, size=SIZE,
                      ranking=daily.Ranking.from_settings(radar.settings))
    base = radar.settings.public_url
    body, newest = build(f"paperradar: trending this {window}", _self(request), f"{base}/trending?window={window}",
                         _listed(view), base)
    return answer(request, body, newest)


def _search_feed(request: Request, radar, q: str, mode: str, title: str, page_url: str) -> Response:
    """A search's best results, newest first: a feed reader shows new papers on top."""
    hits = radar.search.search(q, limit=SIZE, mode=mode).hits
    papers = sorted((h.paper for h in hits), key=lambda p: (p.published or dt.date.min, p.id), reverse=True)
    listings = radar.store.get_listings([p.id for p in papers])
    base = radar.settings.public_url
    body, newest = build(title, _self(request), page_url, [(p, listings.get(p.id)) for p in papers], base)
    return answer(request, body, newest)


@router.get("/search.atom", summary="Atom feed of a search (a saved search)")
async def search_feed(request: Request, radar: RadarDep, q: str = Query(..., min_length=1, max_length=MAX_QUERY),
                      mode: str = Query("hybrid", pattern="^(" + "|".join(MODES) + ")$")):
    page = f"{radar.settings.public_url}/search?{urlencode({'q': q, 'mode': mode})}"
    return await in_search_thread(request, _search_feed, request, radar, q, mode, f"paperradar: {q}", page)


@router.get("/category/{category}.atom", summary="Atom feed of an arXiv category")
async def category_feed(request: Request, radar: RadarDep, category: str):
    q = f"cat:{category[:64]}"
    page = f"{radar.settings.public_url}/search?{urlencode({'q': q})}"
    return await in_search_thread(request, _search_feed, request, radar, q, "lexical", f"paperradar: {category[:64]}", page)


@router.get("/author/{name}.atom", summary="Atom feed of an author's papers")
async def author_feed(request: Request, radar: RadarDep, name: str):
    name = " ".join(name.replace('"', " ").split())[:200]
    q = f'author:"{name}"'
    page = f"{radar.settings.public_url}/search?{urlencode({'q': q})}"
    return await in_search_thread(request, _search_feed, request, radar, q, "lexical", f"paperradar: papers by {name}", page)
