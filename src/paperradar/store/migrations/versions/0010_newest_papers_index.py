"""newest papers: an index in the exact order of `papers.latest` (first seen, published, seq)

Without it the newest-papers list (the API's search without a query) read every paper sharing
the newest first-seen time and sorted them per request: one import stamps a whole batch (20,000
papers) with one time, 13-26 ms a request at 20k papers. With the directions matching the
ORDER BY, both SQLite and PostgreSQL read the first rows of the index and stop.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_papers_newest", "papers",
                    [sa.text("first_seen_at DESC"), sa.text("published DESC"), "seq"])


def downgrade() -> None:
    op.drop_index("ix_papers_newest", table_name="papers")
