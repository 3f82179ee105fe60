"""A digest day end to end, for the CLI and the worker: plan the outbox rows, then send them.

`DigestService` is built once at the edge with settings and a store; how texts and papers
become vectors is passed in (`embed_texts`, `paper_vectors`), defaulting to the configured
embedding model with vectors reused from the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..models import Paper
from ..store import OutboxItem, Store, Subscriber
from ..tokens import signer_from_settings
from .dkim import DkimSigner
from .links import Links
from .notices import Notices
from ..community.daily import Ranking
from .plan import PaperVectors, PlanResult, choose, plan_day
from .render import DigestItem, DigestRenderer
from .select import EmbedTexts
from .send import Sender, SendSummary, Skip, utcnow
from .transport import Outgoing, Transport, transport_from_settings


@dataclass
class DigestReport:
    digest_date: dt.date
    plan: PlanResult
    send: SendSummary | None = None
    states: dict[str, int] = field(default_factory=dict)  # outbox rows of the date by state
    next_retry: dt.datetime | None = None
    would_send: list[tuple[str, int]] = field(default_factory=list)  # dry run: (email, papers)


def default_cutoff(digest_date: dt.date, now: dt.datetime) -> dt.datetime:
    """Papers first seen up to now count, but never past the end of the digest's day."""
    end_of_day = dt.datetime.combine(digest_date + dt.timedelta(days=1), dt.time())
    return min(now, end_of_day)


def embedding_functions(settings, store: Store, embedder: Callable | None = None) -> tuple[EmbedTexts, PaperVectors]:
    """The configured model, loaded on first use (`embedder()` returns it, e.g. `Radar.embedder`):
    topics are embedded in one batch, papers reuse the vectors the indexer stored (by content
    hash) and any missing ones are computed and kept."""
    holder: dict = {}

    def load():
        if "e" not in holder:
            if embedder is not None:
                holder["e"] = embedder()
            else:
                from ..embed import pair  # loading the model costs a second; only when needed
                holder["e"] = pair.load(settings.model_cache, settings.embed_model, quantized=settings.embed_int8)
        return holder["e"]

    def embed_texts(texts: list[str]) -> np.ndarray:
        e = load()
        return e.encode(list(texts))

    def paper_vectors(papers: list[Paper]) -> np.ndarray:
        from ..embed import paper_text

        e = load()
        hashes = [p.content_hash() for p in papers]
        known = store.embeddings_by_hash(e.name, sorted(set(hashes)))
        todo = [(p, h) for p, h in zip(papers, hashes) if h not in known]
        if todo:
            fresh = e.encode([paper_text(p.title, p.abstract) for p, _ in todo])
            store.put_embeddings(e.name, [(p.id, h, v) for (p, h), v in zip(todo, fresh)])
            known.update({h: v for (_, h), v in zip(todo, fresh)})
        return np.stack([known[h] for h in hashes]) if papers else np.zeros((0, e.dim), np.float32)

    return embed_texts, paper_vectors


class DigestService:
    def __init__(self, settings, store: Store, *, embed_texts: EmbedTexts | None = None,
                 paper_vectors: PaperVectors | None = None, embedder: Callable | None = None,
                 transport: Transport | None = None, clock: Callable[[], dt.datetime] = utcnow):
        self.settings = settings
        self.store = store
        if embed_texts is None or paper_vectors is None:
            default_texts, default_vectors = embedding_functions(settings, store, embedder)
            embed_texts, paper_vectors = embed_texts or default_texts, paper_vectors or default_vectors
        self.embed_texts = embed_texts
        self.paper_vectors = paper_vectors
        self.transport = transport
        self.clock = clock
        self.links = Links(signer_from_settings(settings, store), settings.public_url)
        self.renderer = DigestRenderer(self.links, mail_from=settings.mail_from,
                                       dkim=DkimSigner.from_settings(settings))
        self.notices = Notices(self.renderer)
        self._papers: dict[str, Paper] = {}

    def new_transport(self) -> Transport:
        return self.transport or transport_from_settings(self.settings)

    # planning
    def _plan_args(self, digest_date: dt.date) -> dict:
        return dict(digest_date=digest_date, cutoff=default_cutoff(digest_date, self.clock()),
                    embed_texts=self.embed_texts, paper_vectors=self.paper_vectors,
                    host=self.renderer.host, threshold=self.settings.digest_threshold,
                    top_n=self.settings.digest_top_n, ranking=Ranking.from_settings(self.settings))

    def plan(self, digest_date: dt.date, *, only_email: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> PlanResult:
        return plan_day(self.store, only_email=only_email, progress=progress, **self._plan_args(digest_date))

    # sending
    def build(self, item: OutboxItem) -> Outgoing:
        """Render an outbox row as planned; the Date is the row's creation, so resends match."""
        sub = item.subscriber
        if sub is None or sub.status != "active":
            raise Skip(f"subscriber {item.subscriber_id} is {sub.status if sub else 'removed'}")
        ids = [it["id"] for it in item.items]
        missing = [pid for pid in ids if pid not in self._papers]
        if missing:
            if len(self._papers) > 50_000:  # a long-lived worker: do not grow without bound
                self._papers.clear()
            self._papers.update(self.store.get_papers(missing))
        items = [DigestItem(self._papers[it["id"]], it["reasons"]) for it in item.items if it["id"] in self._papers]
        return self.renderer.render(sub, item.digest_date, items, message_id=item.message_id,
                                    date=item.created_at or self.clock())

    def send(self, up_to: dt.date, *, only_email: str | None = None,
             progress: Callable[[OutboxItem, str], None] | None = None) -> SendSummary:
        """Send every due outbox row dated up to `up_to` (retries of earlier days included)."""
        only = None
        if only_email is not None:
            sub = self.store.get_subscriber_by_email(only_email)
            if sub is None:
                return SendSummary()
            only = sub.id
        s = self.settings
        sender = Sender(self.store, self.new_transport, self.build, connections=s.smtp_connections, rate=s.smtp_rate,
                        max_attempts=s.digest_max_attempts, retry_base=s.digest_retry_base,
                        suppress_after=s.digest_suppress_after, lease=s.digest_sending_lease,
                        store_patience=s.digest_store_patience, clock=self.clock)
        return sender.run(up_to, only_subscriber=only, progress=progress)

    def retry(self, up_to: dt.date | None = None) -> DigestReport:
        """Send what is due up to `up_to` (default today) without planning anything: the
        worker's retries between its daily runs."""
        up_to = up_to or self.clock().date()
        summary = self.send(up_to)
        return DigestReport(up_to, PlanResult(), summary, self.store.outbox_counts(up_to),
                            self.store.outbox_next_retry(up_to))

    def run(self, digest_date: dt.date | None = None, *, dry_run: bool = False, only_email: str | None = None,
            on_plan: Callable[[int, int], None] | None = None,
            on_send: Callable[[OutboxItem, str], None] | None = None) -> DigestReport:
        """Plan `digest_date` (default: today, UTC) and send what is due. Safe to rerun at any time."""
        digest_date = digest_date or self.clock().date()
        if dry_run:
            return self._dry_run(digest_date, only_email)
        plan = self.plan(digest_date, only_email=only_email, progress=on_plan)
        summary = self.send(digest_date, only_email=only_email, progress=on_send)
        return DigestReport(digest_date, plan, summary, self.store.outbox_counts(digest_date),
                            self.store.outbox_next_retry(digest_date))

    def _dry_run(self, digest_date: dt.date, only_email: str | None) -> DigestReport:
        report = DigestReport(digest_date, PlanResult())
        subs = [s for s in self.store.subscribers_without_digest(digest_date)
                if only_email is None or s.email == only_email]
        args = self._plan_args(digest_date)
        for sub, picks in choose(self.store, subs, **{k: v for k, v in args.items() if k != "host"}):
            report.would_send.append((sub.email, len(picks)))
            report.plan.planned += bool(picks or sub.send_empty)
            report.plan.empty += not (picks or sub.send_empty)
        report.states = self.store.outbox_counts(digest_date)
        return report

    def preview(self, email: str, path: Path | None = None, digest_date: dt.date | None = None) -> Path:
        """The HTML of the digest `email` would get now (nothing is recorded); returns the file."""
        sub = self.store.get_subscriber_by_email(email)
        if sub is None:
            raise LookupError(f"no subscriber {email}")
        digest_date = digest_date or self.clock().date()
        args = {k: v for k, v in self._plan_args(digest_date).items() if k != "host"}
        picks = next(iter(choose(self.store, [sub], **args)), (sub, []))[1]
        html = self.renderer.html(sub, digest_date, [DigestItem(p.paper, p.reasons) for p in picks])
        path = path or self.settings.data_dir / "previews" / f"digest-{digest_date:%Y%m%d}-{sub.id}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        return path

    def send_notice(self, message: Outgoing) -> None:
        """Send one transactional email now (confirmation, notice) on a fresh transport."""
        transport = self.new_transport()
        try:
            transport.send(message)
        finally:
            transport.close()
