"""digest: subscribers, sent_papers, feedback, outbox, rate_limits

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("frequency", sa.String(8), nullable=False),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("authors", sa.Text, nullable=False),
        sa.Column("send_empty", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("confirmed_at", sa.DateTime),
        sa.Column("last_digest_at", sa.DateTime),
        sa.Column("permanent_failures", sa.Integer, nullable=False),
    )
    op.create_table(
        "sent_papers",
        sa.Column("subscriber_id", sa.Integer, nullable=False),
        sa.Column("paper_id", sa.String(64), nullable=False),
        sa.Column("digest_date", sa.Date, nullable=False),
        sa.UniqueConstraint("subscriber_id", "paper_id", name="uq_sent_paper"),
    )
    op.create_table(
        "feedback",
        sa.Column("subscriber_id", sa.Integer, nullable=False),
        sa.Column("paper_id", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("subscriber_id", "paper_id", name="uq_feedback"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscriber_id", sa.Integer, nullable=False),
        sa.Column("digest_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("claimed_by", sa.String(255)),
        sa.Column("sent_at", sa.DateTime),
        sa.UniqueConstraint("subscriber_id", "digest_date", name="uq_outbox_subscriber_date"),
    )
    op.create_index("ix_outbox_state_id", "outbox", ["state", "id"])
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("window_start", sa.DateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    op.drop_index("ix_outbox_state_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("feedback")
    op.drop_table("sent_papers")
    op.drop_table("subscribers")
