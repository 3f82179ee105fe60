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
    Column("paper_id", String(64), nullable=False, index=True),
    Column("source", String(32), nullable=False),
    Column("ref", Text, nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("listed", String(64), nullable=False, default=""),
    Column("seen_at", DateTime, nullable=False),
    UniqueConstraint("paper_id", "source", "ref", "position", name="uq_sighting"),
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
