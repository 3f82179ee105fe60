"""drop ix_sightings_paper_id: uq_sighting's index already starts with paper_id

Every sighting paid for a second index insert that no query needed.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sightings_paper_id", table_name="sightings")


def downgrade() -> None:
    op.create_index("ix_sightings_paper_id", "sightings", ["paper_id"])
