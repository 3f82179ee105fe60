"""The storage boundary: the only package that speaks SQL.

`Store` owns the engine and exposes what the other boxes need as plain methods returning
`Paper` records; each entity's SQL lives in its own module (papers.py, meta.py, ...).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import numpy as np
from sqlalchemy import Connection

from ..models import Paper
from . import embeddings, feedback, listings, meta, outbox, papers, pgvector, ratelimits, runs, subscribers
from .accounts import Account, HandleTaken
from .community import CommunityStore
from .listings import ListingRow
from .topics import Topic, TopicStore
from .db import make_engine, migrate, writing
from .outbox import OutboxItem, PlannedDigest
from .papers import PaperRow, UpsertResult, now, paper_row
from .runs import Run
from .subscribers import Subscriber, SubscriberExists


BULK_CACHE_KIB = 128 * 1024


class Store(CommunityStore, TopicStore):
    def __init__(self, url: str, *, migrate_schema: bool = True):
        self.url = url
        self.engine = make_engine(url)
        self.upgraded_from = migrate(self.engine) if migrate_schema else None  # the revision(s) it upgraded

    @classmethod
    def from_settings(cls, settings) -> "Store":
        settings.ensure_data_dir()
        return cls(settings.db_url)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction; other modules may group several store calls inside it.

        On SQLite it holds the write lock from BEGIN (waiting up to 30 s for another writer), so
        the reads a write depends on (is this paper stored? the next seq) cannot go stale before
        the write. Plain reads use `engine.connect()` and never take that lock."""
        with writing(self.engine) as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # papers
    def upsert_papers(self, incoming: Iterable[Paper]) -> UpsertResult:
        incoming = list(incoming)
        with self.tx() as conn:
            result = papers.upsert(conn, incoming)
            _list_new(conn, incoming, result)
            return result

    def get_paper(self, paper_id: str) -> Paper | None:
        with self.engine.connect() as conn:
            return papers.get(conn, paper_id)

    def get_papers(self, ids: list[str]) -> dict[str, Paper]:
        with self.engine.connect() as conn:
            return papers.get_many(conn, ids)

    def latest_papers(self, limit: int, offset: int = 0) -> list[Paper]:
        with self.engine.connect() as conn:
            return papers.latest(conn, limit, offset)

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return papers.count(conn)

    def all_titles(self) -> list[Paper]:
        with self.engine.connect() as conn:
            return papers.all_titles(conn)

    def max_seq(self) -> int:
        with self.engine.connect() as conn:
            return papers.max_seq(conn)

    def papers_changed_since(self, seq: int) -> Iterator[tuple[int, Paper]]:
        with self.engine.connect() as conn:
            yield from papers.changed_since(conn, seq)

    def apply_batch(self, incoming: Iterable[Paper], *, withdrawn: Iterable[str] = (),
                    checkpoint: tuple[str, str] | None = None, bulk: bool = False) -> tuple[UpsertResult, int]:
        """Upsert papers, flag withdrawn arXiv ids and save a (meta key, value) checkpoint in ONE
        transaction, so a job killed at any moment resumes from a checkpoint that matches the data.

        `bulk=True` (a multi-million-paper import) gives this connection a larger SQLite page
        cache, so the randomly ordered title index stays in memory (about 10% less CPU per
        paper at 300k papers); other connections keep the default.
        """
        with self.tx() as conn:
            if bulk and conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
            incoming = list(incoming)
            result = papers.upsert(conn, incoming)
            _list_new(conn, incoming, result)
            gone = papers.mark_withdrawn(conn, withdrawn) if withdrawn else 0
            if checkpoint is not None:
                meta.put(conn, *checkpoint)
            return result, gone

    def mark_withdrawn(self, arxiv_ids: Iterable[str]) -> int:
        """Flag papers withdrawn (OAI deleted records); returns how many changed."""
        with self.tx() as conn:
            return papers.mark_withdrawn(conn, arxiv_ids)

    # runs
    def start_run(self, job: str) -> int:
        with self.tx() as conn:
            return runs.start(conn, job)

    def finish_run(self, run_id: int, status: str, counts: dict, error: str | None = None) -> None:
        with self.tx() as conn:
            runs.finish(conn, run_id, status, counts, error)

    def last_runs(self, limit: int = 10, job: str | None = None) -> list[Run]:
        with self.engine.connect() as conn:
            return runs.last(conn, limit, job)

    # embeddings
    def put_embeddings(self, model: str, rows: list[tuple[str, str, np.ndarray]]) -> None:
        with self.tx() as conn:
            embeddings.put(conn, model, rows)

    def embeddings_by_hash(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        with self.engine.connect() as conn:
            return embeddings.by_hash(conn, model, hashes)

    def current_embeddings(self, model: str, batch: int = 5000) -> Iterator[tuple[str, np.ndarray]]:
        """(paper id, vector) of every live paper, read `batch` rows at a time."""
        with self.engine.connect() as conn:
            yield from embeddings.current(conn, model, batch)

    def get_embedding(self, model: str, paper_id: str) -> np.ndarray | None:
        with self.engine.connect() as conn:
            return embeddings.get(conn, model, paper_id)

    # vectors searched inside the database: PostgreSQL with pgvector (pgvector.py)
    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def ensure_vector_index(self, model: str, dim: int) -> bool:
        with self.tx() as conn:
            return pgvector.ensure_index(conn, model, dim)

    def nearest_vectors(self, model: str, dim: int, query: np.ndarray, k: int,
                        keys: np.ndarray | None = None, *, with_vectors: bool = False) -> list[tuple]:
        with self.engine.connect() as conn:
            return pgvector.nearest(conn, model, dim, query, k, keys, with_vectors=with_vectors)

    def exact_nearest_vectors(self, model: str, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        with self.engine.connect() as conn:
            return pgvector.exact_nearest(conn, model, query, k)

    def searchable_vectors(self, model: str, ids: list[str]) -> dict[str, np.ndarray]:
        with self.engine.connect() as conn:
            return pgvector.vectors_of(conn, model, ids)

    def recent_vectors(self, model: str, after: int, upto: int, limit: int) -> list[tuple[str, int, np.ndarray | None]]:
        with self.engine.connect() as conn:
            return pgvector.recent_vectors(conn, model, after, upto, limit)

    def embedding_counts(self) -> dict[str, int]:
        """Stored vectors per embedding name."""
        with self.engine.connect() as conn:
            return embeddings.counts(conn)

    def any_searchable_vectors(self, model: str) -> bool:
        with self.engine.connect() as conn:
            return pgvector.any_searchable(conn, model)

    def count_searchable_vectors(self, model: str) -> int:
        with self.engine.connect() as conn:
            return pgvector.count(conn, model)

    def unsearchable_vectors(self, model: str, ids: list[str], *, seq_key: str | None = None, seq: int = 0) -> None:
        """Take papers out of vector search and (optionally) record the feed position reached,
        in one transaction."""
        with self.tx() as conn:
            pgvector.remove(conn, model, ids)
            if seq_key is not None:
                meta.put(conn, seq_key, str(seq))

    def vector_writer_lock(self, model: str, dim: int, wait_s: float):
        return pgvector.writer_lock(self.engine, model, dim, wait_s)

    # meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as conn:
            return meta.get(conn, key, default)

    def put_meta(self, key: str, value: str) -> None:
        with self.tx() as conn:
            meta.put(conn, key, value)

    def put_meta_if_absent(self, key: str, value: str) -> str:
        """Set `key` unless some process already did; the value every caller then agrees on."""
        with self.tx() as conn:
            return meta.put_if_absent(conn, key, value)

    def papers_first_seen_between(self, after: dt.datetime, until: dt.datetime,
                                  published_since: dt.date | None = None) -> list[Paper]:
        with self.engine.connect() as conn:
            return papers.first_seen_between(conn, after, until, published_since)

    # subscribers
    def add_subscriber(self, email: str, *, now: dt.datetime | None = None, **fields) -> Subscriber:
        with self.tx() as conn:
            return subscribers.add(conn, email, now=now or papers.now(), **fields)

    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        with self.engine.connect() as conn:
            return subscribers.get(conn, subscriber_id)

    def get_subscriber_by_email(self, email: str) -> Subscriber | None:
        with self.engine.connect() as conn:
            return subscribers.get_by_email(conn, email)

    def list_subscribers(self, status: str | None = None) -> list[Subscriber]:
        with self.engine.connect() as conn:
            return subscribers.list_all(conn, status)

    def update_subscriber(self, subscriber_id: int, *, now: dt.datetime | None = None, **fields) -> Subscriber | None:
        with self.tx() as conn:
            return subscribers.update_fields(conn, subscriber_id, now=now or papers.now(), **fields)

    def confirm_subscriber(self, subscriber_id: int, now: dt.datetime | None = None) -> Subscriber | None:
        with self.tx() as conn:
            return subscribers.confirm(conn, subscriber_id, now or papers.now())

    def remove_subscriber(self, email: str) -> bool:
        with self.tx() as conn:
            return subscribers.remove(conn, email)

    def subscribers_without_digest(self, digest_date: dt.date) -> list[Subscriber]:
        with self.engine.connect() as conn:
            return subscribers.without_digest_on(conn, digest_date)

    def put_feedback(self, subscriber_id: int, paper_id: str, value: int, now: dt.datetime | None = None) -> None:
        with self.tx() as conn:
            feedback.put(conn, subscriber_id, paper_id, value, now or papers.now())

    def feedback_for(self, subscriber_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
        with self.engine.connect() as conn:
            return feedback.for_subscribers(conn, subscriber_ids)

    def hit_rate_limit(self, key: str, *, limit: int, window: dt.timedelta, now: dt.datetime | None = None) -> bool:
        """Count a hit; False once `key` went over `limit` hits in the current window."""
        now = now or papers.now()
        with self.tx() as conn:
            ratelimits.prune(conn, now - max(window, dt.timedelta(days=2)))  # keeps the table small
            return ratelimits.hit(conn, key, limit=limit, window=window, now=now)

    def count_rate_hits(self, key: str, hits: int, *, window: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Count `hits` hits at once; the window's count afterwards (web/api_limit.py's batches)."""
        now = now or papers.now()
        with self.tx() as conn:
            ratelimits.prune(conn, now - max(window, dt.timedelta(days=2)))
            return ratelimits.add(conn, key, hits, window=window, now=now)

    # outbox
    def plan_digests(self, digests: list[PlannedDigest], now: dt.datetime | None = None) -> list[int]:
        with self.tx() as conn:
            return outbox.plan(conn, digests, now or papers.now())

    def sent_pairs(self, subscriber_ids: list[int], paper_ids: list[str]) -> set[tuple[int, str]]:
        with self.engine.connect() as conn:
            return outbox.sent_pairs(conn, subscriber_ids, paper_ids)

    def outbox_item(self, item_id: int) -> OutboxItem | None:
        with self.engine.connect() as conn:
            return outbox.get(conn, item_id)

    def outbox_for_date(self, digest_date: dt.date) -> list[OutboxItem]:
        with self.engine.connect() as conn:
            return outbox.for_date(conn, digest_date)

    def claim_outbox(self, *, up_to: dt.date, now: dt.datetime, owner: str, limit: int = 50,
                     only_subscriber: int | None = None) -> list[OutboxItem]:
        with self.tx() as conn:
            return outbox.claim(conn, up_to=up_to, now=now, owner=owner, limit=limit,
                                only_subscriber=only_subscriber)

    def release_stale_outbox(self, *, now: dt.datetime, lease: dt.timedelta,
                             is_gone: Callable[[str | None], bool]) -> list[OutboxItem]:
        with self.tx() as conn:
            return outbox.release_stale(conn, now=now, lease=lease, is_gone=is_gone)

    def release_outbox(self, item_ids: list[int], now: dt.datetime, *, note: str | None = None) -> None:
        with self.tx() as conn:
            outbox.release(conn, item_ids, now, note=note)

    def outbox_sent(self, item_id: int, now: dt.datetime, *, subscriber_id: int | None = None) -> None:
        with self.tx() as conn:
            outbox.mark_sent(conn, item_id, now, subscriber_id=subscriber_id)

    def outbox_retry(self, item_id: int, error: str, next_attempt_at: dt.datetime, now: dt.datetime) -> None:
        with self.tx() as conn:
            outbox.mark_retry(conn, item_id, error, next_attempt_at, now)

    def outbox_failed(self, item_id: int, error: str, now: dt.datetime, *, permanent: bool,
                      suppress_after: int) -> bool:
        with self.tx() as conn:
            return outbox.mark_failed(conn, item_id, error, now, permanent=permanent, suppress_after=suppress_after)

    def outbox_counts(self, digest_date: dt.date | None = None) -> dict[str, int]:
        with self.engine.connect() as conn:
            return outbox.counts(conn, digest_date)

    def outbox_next_retry(self, up_to: dt.date) -> dt.datetime | None:
        with self.engine.connect() as conn:
            return outbox.next_retry_at(conn, up_to)


def _list_new(conn: Connection, incoming: list, result: UpsertResult) -> None:
    """List the papers whose source dates them (`Paper.listing`), in the upsert's transaction."""
    items = [(pid, p.listing) for p, pid in zip(incoming, result.ids)
             if isinstance(p, Paper) and p.listing is not None]
    if items:
        listings.put(conn, items, papers.now())


__all__ = ["Account", "HandleTaken", "ListingRow", "Topic", "OutboxItem", "PaperRow", "PlannedDigest", "Run", "Store", "Subscriber", "SubscriberExists", "UpsertResult", "now",
           "paper_row"]
