"""embeddings: one vector per paper per model, keyed by the text's content hash

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embeddings",
        sa.Column("paper_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("paper_id", "model"),
    )
    op.create_index("ix_embeddings_hash", "embeddings", ["model", "content_hash"])


def downgrade() -> None:
    op.drop_table("embeddings")
