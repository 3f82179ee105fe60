"""Builders for digest tests: a data dir with papers and subscribers, and a DigestService on it."""

from __future__ import annotations

from pathlib import Path

from paperradar.config import Settings
from paperradar.digest.run import DigestService
from paperradar.models import Paper
from paperradar.store import Store

from .hashing_embedder import embed_texts, paper_vectors

GRADIENT = [
    ("Gradient inversion attacks reconstruct training images from shared gradients",
     "We show that gradient inversion recovers private images in federated learning."),
    ("Defending federated learning against gradient inversion",
     "A defense that perturbs shared gradients so gradient inversion fails."),
]
OTHER = [
    ("Protein folding with diffusion models", "Diffusion models predict protein structure."),
    ("Galaxy morphology from telescope surveys", "We classify galaxies in survey images."),
    ("Rocket engine combustion instabilities", "Forecasting thermoacoustic instabilities in rocket engines."),
]


def paper(pid: str, title: str, abstract: str = "", **kw) -> Paper:
    return Paper(id=pid, arxiv_id=pid, title=title, abstract=abstract,
                 authors=kw.pop("authors", ["Ada Lovelace"]), categories=kw.pop("categories", ["cs.LG"]), **kw)


def add_papers(store: Store, prefix: str, pairs, **kw) -> list[str]:
    papers = [paper(f"{prefix}.{i:05d}", t, a, **kw) for i, (t, a) in enumerate(pairs)]
    store.upsert_papers(papers)
    return [p.id for p in papers]


def settings_for(data_dir: Path, **kw) -> Settings:
    kw.setdefault("mail_from", "paperradar <radar@radar.test>")
    kw.setdefault("base_url", "http://radar.test")
    kw.setdefault("digest_retry_base", 60.0)
    return Settings(data_dir=data_dir, **kw)


def service(settings: Settings, store: Store, **kw) -> DigestService:
    return DigestService(settings, store, embed_texts=embed_texts, paper_vectors=paper_vectors, **kw)


def subscribe(store: Store, email: str, topics=(), **kw):
    """An active (confirmed) subscriber: their first digest covers the papers of the last day."""
    kw.setdefault("status", "active")
    return store.add_subscriber(email, topics=list(topics), **kw)


class Clock:
    """A settable UTC clock for the sender's retry times (papers keep their real timestamps)."""

    def __init__(self, start=None):
        import datetime as dt

        self.now = start or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        import datetime as dt

        self.now += dt.timedelta(**delta)
        return self.now
