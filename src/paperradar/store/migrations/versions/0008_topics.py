"""topics: areas and fine topics of the papers (names, centroids, weekly counts, map points, the encoded map)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("parent_id", sa.Integer),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("centroid", sa.LargeBinary, nullable=False),
        sa.Column("x", sa.Float, nullable=False),
        sa.Column("y", sa.Float, nullable=False),
        sa.Column("weekly", sa.Text, nullable=False),
        sa.Column("growth", sa.Float, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("built_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "paper_topics",
        sa.Column("paper_id", sa.String(64), primary_key=True),
        sa.Column("topic_id", sa.Integer, nullable=False),
        sa.Column("x", sa.Float, nullable=False),
        sa.Column("y", sa.Float, nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
    )
    op.create_index("ix_paper_topics_topic_similarity", "paper_topics", ["topic_id", "similarity"])
    op.create_table(
        "topic_map",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("saved_at", sa.DateTime, nullable=False),
        sa.Column("meta", sa.LargeBinary, nullable=False),
        sa.Column("points", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("topic_map")
    op.drop_table("paper_topics")
    op.drop_table("topics")
