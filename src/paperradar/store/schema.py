"""Table definitions (SQLAlchemy Core). Migrations in `migrations/versions` create them.

Lists and mappings (authors, categories, links) are JSON text: they are read with the paper and
never queried inside SQL; filters run in the search index.
"""

from sqlalchemy import (
    LargeBinary,
    PrimaryKeyConstraint,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

papers = Table(
    "papers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("arxiv_id", String(64), unique=True),
    Column("version", Integer),
    Column("title", Text, nullable=False),
    Column("title_key", Text, nullable=False, index=True),
    Column("abstract", Text, nullable=False, default=""),
    Column("authors", Text, nullable=False, default="[]"),
    Column("categories", Text, nullable=False, default="[]"),
    Column("primary_category", String(64)),
    Column("published", Date),
    Column("updated", Date),
    Column("doi", String(255), index=True),
    Column("journal_ref", Text),
    Column("comments", Text),
    Column("license", Text),
    Column("links", Text, nullable=False, default="{}"),
    Column("withdrawn", Boolean, nullable=False, default=False),
    Column("content_hash", String(32), nullable=False),
    Column("first_seen_at", DateTime, nullable=False, index=True),
    Column("changed_at", DateTime, nullable=False),
    # Monotonic change counter: indexes remember the last seq they saw and catch up from there.
    Column("seq", Integer, nullable=False, index=True),
)

sightings = Table(
    "sightings",
    metadata,
    Column("paper_id", String(64), nullable=False),  # looked up through uq_sighting
    Column("source", String(32), nullable=False),
    Column("ref", Text, nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("listed", String(64), nullable=False, default=""),
    Column("seen_at", DateTime, nullable=False),
    UniqueConstraint("paper_id", "source", "ref", "position", name="uq_sighting"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(64), nullable=False),  # "harvest-arxiv", "import-jsonl", "update", ...
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),  # NULL while running (or when the process died)
    Column("status", String(16), nullable=False),  # running, ok, failed
    Column("counts", Text, nullable=False, default="{}"),  # JSON: added, updated, withdrawn, ...
    Column("error", Text),
    Index("ix_runs_job_started_at", "job", "started_at"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

# Vectors are float32 bytes; the store keeps them so indexes can be rebuilt without re-embedding,
# and `content_hash` lets an unchanged text (even under another id) reuse its vector.
embeddings = Table(
    "embeddings",
    metadata,
    Column("paper_id", String(64), nullable=False),
    Column("model", String(128), nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("vector", LargeBinary, nullable=False),
    PrimaryKeyConstraint("paper_id", "model"),
)

# --- digest (migration 0004): subscribers, what they were sent, their feedback, the outbox ---

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("status", String(16), nullable=False),  # pending active paused unsubscribed suppressed
    Column("frequency", String(8), nullable=False, default="daily"),  # daily weekly
    Column("topics", Text, nullable=False, default="[]"),  # JSON lists, read with the row
    Column("categories", Text, nullable=False, default="[]"),
    Column("authors", Text, nullable=False, default="[]"),
    Column("send_empty", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("confirmed_at", DateTime),
    Column("last_digest_at", DateTime),  # the cutoff of the last planned digest: "new since"
    Column("permanent_failures", Integer, nullable=False, default=0),  # 5xx in a row
)

sent_papers = Table(
    "sent_papers",
    metadata,
    Column("subscriber_id", Integer, nullable=False),
    Column("paper_id", String(64), nullable=False),
    Column("digest_date", Date, nullable=False),
    UniqueConstraint("subscriber_id", "paper_id", name="uq_sent_paper"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("subscriber_id", Integer, nullable=False),
    Column("paper_id", String(64), nullable=False),
    Column("value", Integer, nullable=False),  # +1 more like this, -1 less like this
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("subscriber_id", "paper_id", name="uq_feedback"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscriber_id", Integer, nullable=False),
    Column("digest_date", Date, nullable=False),
    Column("state", String(16), nullable=False),  # pending sending sent temp_failed failed empty
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime),
    Column("message_id", String(255), nullable=False),
    Column("last_error", Text),
    Column("items", Text, nullable=False, default="[]"),  # JSON [{id, score, reasons}], fixed at planning
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("claimed_at", DateTime),
    Column("claimed_by", String(255)),  # "host:pid" of the process that moved it to sending
    Column("sent_at", DateTime),
    UniqueConstraint("subscriber_id", "digest_date", name="uq_outbox_subscriber_date"),
    Index("ix_outbox_state_id", "state", "id"),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(400), primary_key=True),  # "subscribe-ip:1.2.3.4", "subscribe-email:a@b"
    Column("window_start", DateTime, nullable=False),
    Column("count", Integer, nullable=False),
)
