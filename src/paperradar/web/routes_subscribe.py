"""Subscribing and managing a digest: the form, double opt-in, preferences, unsubscribe, feedback.

Each handler: load → validate → store → answer. Everything after subscribing is authenticated
by a signed token from an email (tokens.py), never by a cookie; every state change is a POST
(link scanners follow GETs). The RFC 8058 one-click unsubscribe POST needs no cookie and no
CSRF token; the other forms carry the CSRF field as well.

The subscribe answer is the same page, byte for byte, whatever the address: new, pending,
already subscribed (they get a notice email instead) or rate-limited.
"""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from ..digest.interests import Interests, InvalidInput, normalize_email, parse_content
from ..digest.run import DigestService
from ..store import Subscriber, SubscriberExists
from ..topics.views import fine_topics
from ..tokens import BadToken, ExpiredToken
from . import csrf
from .pages import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("paperradar.web.subscribe")

IP_LIMIT = (10, dt.timedelta(hours=1))  # subscribe attempts per client address
EMAIL_LIMIT = (3, dt.timedelta(days=1))  # emails sent to one address: no mail-bombing through us


def _service(request: Request) -> DigestService:
    state = request.app.state
    if getattr(state, "digest", None) is None:  # built on first use: the model is never loaded here
        state.digest = DigestService(state.settings, state.radar.store)
    return state.digest


def _page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    return render(request, f"subscribe/{name}", context, status=status)


def _subscriber(request: Request, purpose: str, token: str) -> tuple[Subscriber, dict]:
    """The subscriber a token names, or a 400 saying the link is expired or not valid."""
    service = _service(request)
    try:
        payload = service.links.signer.verify(purpose, token or "")
        sub = service.store.get_subscriber(int(payload["s"]))
        if sub is None or sub.email != payload["e"]:
            raise BadToken(f"{purpose} link is for an address that is no longer on the list")
    except ExpiredToken:
        raise HTTPException(400, "This link has expired. The newest email from us has a fresh one.") from None
    except (BadToken, KeyError, TypeError, ValueError):
        raise HTTPException(400, "This link is not valid. Use the newest email from us, or subscribe again.") from None
    return sub, payload


# --- subscribing ---------------------------------------------------------------------------

@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_form(request: Request, topics: str = Query("", max_length=4000)):
    """The form; `?topics=` fills in a topic (a topic page's "get this topic by email")."""
    return _page(request, "form.html", form={"topics": topics} if topics else {}, error=None)


@router.post("/subscribe", response_class=HTMLResponse)
def subscribe(request: Request, background: BackgroundTasks, email: str = Form(""), topics: str = Form(""),
              categories: str = Form(""), authors: str = Form(""), frequency: str = Form("daily"),
              content: str = Form("interests"), website: str = Form(""), csrf_token: str = Form("")):
    csrf.verify(request, csrf_token)
    if website:  # the honeypot: only bots fill a field people cannot see
        return _page(request, "sent.html")
    store = _service(request).store
    ip = request.client.host if request.client else "unknown"
    if not store.hit_rate_limit(f"subscribe-ip:{ip}", limit=IP_LIMIT[0], window=IP_LIMIT[1]):
        raise HTTPException(429, "Too many subscription requests from your network. Try again in an hour.")
    form = {"email": email, "topics": topics, "categories": categories, "authors": authors, "frequency": frequency,
            "content": content}
    try:
        address = normalize_email(email)
        interests, frequency, content = parse_choices(topics, categories, authors, frequency, content)
    except InvalidInput as e:
        return _page(request, "form.html", status=400, form=form, error=str(e))
    if store.hit_rate_limit(f"subscribe-email:{address}", limit=EMAIL_LIMIT[0], window=EMAIL_LIMIT[1]):
        notice = _record_subscription(_service(request), address, interests, frequency, content)
        if notice is not None:
            background.add_task(_send, _service(request), notice)
    return _page(request, "sent.html")


def parse_choices(topics: str, categories: str, authors: str, frequency: str, content: str):
    """(interests, frequency, content) from a form; InvalidInput says what is wrong. A digest of
    the trending papers alone needs no interests."""
    content = parse_content(content)
    if frequency not in ("daily", "weekly"):
        raise InvalidInput("frequency must be daily or weekly")
    return Interests.parse(topics, categories, authors, required=content != "trending"), frequency, content


def _record_subscription(service: DigestService, address: str, interests: Interests, frequency: str, content: str):
    """Store the request and pick the email it deserves (None: send nothing)."""
    store = service.store
    fields = dict(topics=interests.topics, categories=interests.categories, authors=interests.authors,
                  frequency=frequency, content=content)
    sub = store.get_subscriber_by_email(address)
    if sub is None:
        try:
            sub = store.add_subscriber(address, status="pending", **fields)
            return service.notices.confirmation(sub)
        except SubscriberExists:  # a simultaneous request added it first
            sub = store.get_subscriber_by_email(address)
    if sub.status in ("pending", "unsubscribed"):
        # Not receiving anything yet: take the new interests, ask for confirmation again.
        sub = store.update_subscriber(sub.id, status="pending", **fields)
        return service.notices.confirmation(sub)
    if sub.status in ("active", "paused"):
        return service.notices.already_subscribed(sub)  # interests change only through their link
    return None  # suppressed: mail to it bounces


def _send(service: DigestService, message) -> None:
    try:
        service.send_notice(message)
    except Exception as e:  # the page is already answered; the person can simply ask again
        log.warning("could not send %s to %s: %s", message.message_id, message.recipient, e)


# --- confirming ----------------------------------------------------------------------------

@router.get("/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, t: str = ""):
    sub, _ = _subscriber(request, "confirm", t)
    return _page(request, "confirm.html", sub=sub, token=t, done=False)


@router.post("/confirm", response_class=HTMLResponse)
def confirm(request: Request, t: str = Form(""), csrf_token: str = Form("")):
    csrf.verify(request, csrf_token)
    sub, _ = _subscriber(request, "confirm", t)
    service = _service(request)
    sub = service.store.confirm_subscriber(sub.id)
    return _page(request, "confirm.html", sub=sub, token=t, done=True,
                 manage_url=service.links.manage(sub.id, sub.email))


# --- preferences ---------------------------------------------------------------------------

@router.get("/preferences", response_class=HTMLResponse)
def preferences_page(request: Request, t: str = "", add: int | None = Query(None, description="a topic id to add")):
    """The preferences form; `?add=TOPIC` puts that topic's words in the topics box, to save."""
    sub, _ = _subscriber(request, "manage", t)
    form = _form_of(sub)
    topics, _ = fine_topics(_service(request).store)  # cached per fit
    chosen = next((x for x in topics if x.id == add), None)
    if chosen is not None:
        form["topics"] = "\n".join(filter(None, [form["topics"], " ".join(chosen.terms[:3])]))
    return _page(request, "preferences.html", sub=sub, token=t, form=form, error=None, saved=False,
                 radar_topics=sorted(topics, key=lambda x: -x.size)[:30], added=chosen)


def _form_of(sub: Subscriber) -> dict:
    return {"topics": "\n".join(sub.topics), "categories": " ".join(sub.categories),
            "authors": "\n".join(sub.authors), "frequency": sub.frequency, "content": sub.content}


@router.post("/preferences", response_class=HTMLResponse)
def preferences(request: Request, t: str = Form(""), csrf_token: str = Form(""), topics: str = Form(""),
                categories: str = Form(""), authors: str = Form(""), frequency: str = Form("daily"),
                content: str = Form("interests"), paused: str = Form(""), send_empty: str = Form(""),
                action: str = Form("save")):
    csrf.verify(request, csrf_token)
    sub, _ = _subscriber(request, "manage", t)
    store = _service(request).store
    form = {"topics": topics, "categories": categories, "authors": authors, "frequency": frequency, "content": content}
    try:
        interests, frequency, content = parse_choices(topics, categories, authors, frequency, content)
    except InvalidInput as e:
        return _page(request, "preferences.html", status=400, sub=sub, token=t, form=form, error=str(e), saved=False,
                 radar_topics=[], added=None)
    status = sub.status
    if action == "resubscribe" and status == "unsubscribed":
        status = "active"  # the signed link proves the mailbox; no second opt-in needed
    elif status in ("active", "paused"):
        status = "paused" if paused else "active"
    sub = store.update_subscriber(sub.id, status=status, frequency=frequency, send_empty=bool(send_empty), content=content,
                                  topics=interests.topics, categories=interests.categories,
                                  authors=interests.authors)
    return _page(request, "preferences.html", sub=sub, token=t, form=_form_of(sub), error=None, saved=True,
                 radar_topics=[], added=None)


# --- unsubscribing -------------------------------------------------------------------------

@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, t: str = ""):
    """Only a page with a button: mail scanners and prefetchers follow GETs."""
    sub, _ = _subscriber(request, "unsubscribe", t)
    return _page(request, "unsubscribe.html", sub=sub, token=t, done=False)


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(request: Request, t: str = ""):
    """RFC 8058 one-click (body `List-Unsubscribe=One-Click`) and the page's button alike.

    No cookie, no CSRF token: the signed token in the URL is the authentication."""
    if not t:
        t = str((await request.form()).get("t", ""))
    sub, _ = _subscriber(request, "unsubscribe", t)
    service = _service(request)
    if sub.status not in ("unsubscribed", "suppressed"):
        sub = service.store.update_subscriber(sub.id, status="unsubscribed")
    return _page(request, "unsubscribe.html", sub=sub, token=t, done=True,
                 manage_url=service.links.manage(sub.id, sub.email))


# --- feedback ------------------------------------------------------------------------------

def _feedback_target(request: Request, t: str, v: str):
    sub, payload = _subscriber(request, "feedback", t)
    if v not in ("1", "-1"):
        raise HTTPException(400, "This feedback link is not valid.")
    paper = _service(request).store.get_paper(str(payload.get("p", "")))
    if paper is None:
        raise HTTPException(404, "That paper is no longer in the radar.")
    return sub, paper, int(v)


@router.get("/feedback", response_class=HTMLResponse)
def feedback_page(request: Request, t: str = "", v: str = ""):
    sub, paper, value = _feedback_target(request, t, v)
    return _page(request, "feedback.html", sub=sub, paper=paper, value=value, token=t, done=False)


@router.post("/feedback", response_class=HTMLResponse)
def feedback(request: Request, t: str = Form(""), v: str = Form(""), csrf_token: str = Form("")):
    csrf.verify(request, csrf_token)
    sub, paper, value = _feedback_target(request, t, v)
    _service(request).store.put_feedback(sub.id, paper.id, value)
    return _page(request, "feedback.html", sub=sub, paper=paper, value=value, token=t, done=True)
