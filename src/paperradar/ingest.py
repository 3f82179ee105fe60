"""The ingest pipeline: normalize → dedupe/upsert into the store → bring the indexes up to date.

Sources yield `Paper` records; this module is the only path by which they enter the store, so
every source gets the same normalization, bounds (`limits.py`) and dedupe. Index updates are
incremental (from the store's change counter) and can be re-run at any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from .limits import TooLarge
from .models import Paper
from .normalize import normalize_paper
from .store import Store

BATCH = 1000


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # one line each: where and why
    new_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": len(self.skipped), "skipped_reasons": self.skipped}


def ingest(store: Store, papers: Iterable[Paper], *, report: IngestReport | None = None,
           progress: Callable[[int], None] | None = None) -> IngestReport:
    """Upsert papers in batches. Re-ingesting the same input changes nothing."""
    report = report or IngestReport()
    batch: list[Paper] = []

    def flush():
        result = store.upsert_papers(batch)
        report.added += result.added
        report.updated += result.updated
        report.unchanged += result.unchanged
        report.new_ids.extend(result.new_ids)
        if progress:
            progress(len(batch))
        batch.clear()

    for paper in papers:
        try:
            p = normalize_paper(paper)
        except TooLarge as exc:
            report.skipped.append(f"{_where(paper)}: {exc}")
            continue
        if not p.title:
            report.skipped.append(f"{_where(paper)}: no title")
            continue
        batch.append(p)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return report


def _where(p: Paper) -> str:
    s = p.sightings[0] if p.sightings else None
    return f"{s.source}:{s.ref}#{s.position}" if s else "record"
