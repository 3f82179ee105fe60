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
    Float,
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
    Column("status", String(16), nullable=False),  # running, ok, failed, abandoned
    Column("counts", Text, nullable=False, default="{}"),  # JSON: added, updated, withdrawn, ...
    Column("error", Text),
    Column("owner", String(128)),  # "host:pid" of the process running it (NULL before 0007)
    Index("ix_runs_job_started_at", "job", "started_at"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

# Vectors are float32 bytes; the store keeps them so indexes can be rebuilt without re-embedding,
# and `content_hash` lets an unchanged text (even under another id) reuse its vector. On
# PostgreSQL, migration 0009 adds `key` (bigint, search/keys.paper_key) and `vec` (pgvector's
# `vector`), which only pgvector.py and embeddings.put touch: SQLite has neither.
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
    Column("content", String(16), nullable=False, default="interests"),  # interests trending both
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

# --- community (migration 0006): the dated lists, accounts, sessions, votes ---

# One listing per paper: the day it entered the daily list and who or what put it there.
# `votes` is the count of local votes, kept in step with `votes` rows inside each vote's
# transaction (and `points` with it), so pages and trending read one row per paper instead of
# counting votes.
listings = Table(
    "listings",
    metadata,
    Column("paper_id", String(64), primary_key=True),
    Column("day", Date, nullable=False),
    Column("source", String(32), nullable=False),  # pages, hf-daily, oai, submit
    Column("listed_at", DateTime, nullable=False),  # the moment trending ages it from
    Column("position", Integer, nullable=False, default=0),  # rank upstream, 0 when none
    Column("submitted_by", Integer),  # accounts.id of a local submitter
    Column("submitter_name", String(128)),  # an upstream submitter's name, when known
    Column("votes", Integer, nullable=False, default=0),  # local votes
    Column("imported_upvotes", Integer, nullable=False, default=0),  # e.g. Hugging Face's count
    Column("points", Integer, nullable=False, default=0),  # votes + imported_upvotes: what is shown
    Column("num_comments", Integer),
    Column("github_repo", Text),
    Column("github_stars", Integer),
    Column("project_page", Text),
    Column("hidden", Boolean, nullable=False, default=False),
    # Covers what the lists read per row (order, counts, trending's inputs): a month of a
    # million-paper radar is read from this index without touching the table.
    Index("ix_listings_day_rank", "day", "hidden", "points", "position", "paper_id", "listed_at", "github_stars"),
    Index("ix_listings_submitted_by_day", "submitted_by", "day"),
)

# Visible listings per day, kept in step with `listings` in the same transactions: calendars,
# totals and previous/next days read a row per day instead of counting a day's listings.
listing_days = Table(
    "listing_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("papers", Integer, nullable=False),
    Column("max_stars", Integer),  # the most GitHub stars of a visible listing: bounds trending
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("handle", String(32), unique=True),  # chosen at first sign-in
    Column("role", String(16), nullable=False, default="member"),  # member admin
    Column("status", String(16), nullable=False, default="active"),  # active banned
    Column("login_nonce", String(64), nullable=False),  # rotated by each sign-in: links work once
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie value
    Column("account_id", Integer, nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

votes = Table(
    "votes",
    metadata,
    Column("account_id", Integer, nullable=False),
    Column("paper_id", String(64), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("account_id", "paper_id", name="uq_vote"),
)

# --- topics (migration 0008): what `paperradar topics rebuild` fits, and where papers sit ---

topics = Table(
    "topics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # kept across refits (member overlap)
    Column("level", String(8), nullable=False),  # area, topic
    Column("parent_id", Integer),  # a topic's area
    Column("name", Text, nullable=False),
    Column("terms", Text, nullable=False),  # JSON list, most distinctive first
    Column("size", Integer, nullable=False),
    Column("centroid", LargeBinary, nullable=False),  # float32 unit vector
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("weekly", Text, nullable=False),  # JSON: papers per week, the last 12 weeks, oldest first
    Column("growth", Float, nullable=False),  # topics/rising.py
    Column("model", String(128), nullable=False),  # the embedding model the fit used
    Column("built_at", DateTime, nullable=False),
)

paper_topics = Table(
    "paper_topics",
    metadata,
    Column("paper_id", String(64), primary_key=True),
    Column("topic_id", Integer, nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("similarity", Float, nullable=False),  # cosine to the topic's centroid
    Index("ix_paper_topics_topic_similarity", "topic_id", "similarity"),
)

# The map as the page downloads it, encoded by the topic job (rebuild, assign) so that serving it
# is reading two values: `meta` is the JSON of /api/map, `points` the bytes of /api/map/points.bin.
topic_map = Table(
    "topic_map",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: one map
    Column("saved_at", DateTime, nullable=False),
    Column("meta", LargeBinary, nullable=False),
    Column("points", LargeBinary, nullable=False),
)
