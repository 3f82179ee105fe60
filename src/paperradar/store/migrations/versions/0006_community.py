"""community: listings (the dated daily lists) and their per-day counts, accounts, sessions, votes;
digest content

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("paper_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("listed_at", sa.DateTime, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("submitted_by", sa.Integer),
        sa.Column("submitter_name", sa.String(128)),
        sa.Column("votes", sa.Integer, nullable=False),
        sa.Column("imported_upvotes", sa.Integer, nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("num_comments", sa.Integer),
        sa.Column("github_repo", sa.Text),
        sa.Column("github_stars", sa.Integer),
        sa.Column("project_page", sa.Text),
        sa.Column("hidden", sa.Boolean, nullable=False),
    )
    op.create_index("ix_listings_day_rank", "listings",
                    ["day", "hidden", "points", "position", "paper_id", "listed_at", "github_stars"])
    op.create_index("ix_listings_submitted_by_day", "listings", ["submitted_by", "day"])
    op.create_table(
        "listing_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("papers", sa.Integer, nullable=False),
        sa.Column("max_stars", sa.Integer),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("handle", sa.String(32), unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("login_nonce", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_login_at", sa.DateTime),
    )
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_sessions_account_id", "sessions", ["account_id"])
    op.create_table(
        "votes",
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("paper_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("account_id", "paper_id", name="uq_vote"),
    )
    op.create_index("ix_votes_paper_id", "votes", ["paper_id"])
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("content", sa.String(16), nullable=False, server_default="interests"))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("content")
    for table in ("votes", "sessions", "accounts", "listing_days", "listings"):
        op.drop_table(table)
