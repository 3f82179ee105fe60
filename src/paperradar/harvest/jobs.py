"""What every harvest/import job shares: counts, progress callbacks, run records, the ingest hook.

A job counts what it did in a `Counts`, reports progress through a plain callable (the CLI turns
it into a Rich bar), calls an optional `on_change(UpsertResult)` after each committed batch (the
ingest pipeline's hook to embed and index what changed) and records itself in the `runs` table.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

from ..store import Store, UpsertResult

# progress(records so far, done so far, total or None): `done`/`total` are in the job's own unit
# (records for a harvest whose size is known, bytes for a snapshot file).
ProgressFn = Callable[[int, int, "int | None"], None]
OnChange = Callable[[UpsertResult], None]
MAX_KEPT_ERRORS = 20  # per-record errors kept verbatim in the run record; the rest are counted


@dataclass
class Counts:
    records: int = 0  # papers read from the source
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0  # papers newly flagged withdrawn
    deleted: int = 0  # deleted records the source listed
    errors: int = 0  # records that could not be read
    pages: int = 0
    requests: int = 0
    restarts: int = 0  # lists restarted after an expired resumptionToken
    error_messages: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # what later steps (embed, index) report

    def add_result(self, result: UpsertResult) -> None:
        self.added += result.added
        self.updated += result.updated
        self.unchanged += result.unchanged

    def add_error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_messages) < MAX_KEPT_ERRORS:
            self.error_messages.append(message)

    def merge(self, other: "Counts") -> None:
        for name, value in asdict(other).items():
            if name == "extra":
                self.extra.update(value)
            elif name == "error_messages":
                for message in value:
                    if len(self.error_messages) < MAX_KEPT_ERRORS:
                        self.error_messages.append(message)
            else:
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def recorded_run(store: Store, job: str, counts: Counts) -> Iterator[Counts]:
    """Record the job in `runs`: ok with its counts, or failed with the one-line error."""
    run_id = store.start_run(job)
    try:
        yield counts
    except BaseException as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, KeyboardInterrupt):
            message = "interrupted"
        store.finish_run(run_id, "failed", counts.as_dict(), message)
        raise
    store.finish_run(run_id, "ok", counts.as_dict())
