"""omni calls: a phone call's numbers and carrier call id

Revision ID: 0010
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("omni_calls", sa.Column("phone", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("omni_calls", "phone")
