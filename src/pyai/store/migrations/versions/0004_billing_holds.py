"""billing: usage holds (atomic reservations) and a once-only source key on usage events

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("billing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_holds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("env", sa.String(8), nullable=False),
        sa.Column("meter", sa.String(32), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_holds_org", "usage_holds", ["org_id", "expires_at"])
    op.create_index("ix_holds_key", "usage_holds", ["key_id", "expires_at"])
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("source", sa.String(80), nullable=True))
        batch.create_unique_constraint("uq_usage_source", ["source"])


def downgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_constraint("uq_usage_source", type_="unique")
        batch.drop_column("source")
    op.drop_index("ix_holds_key", "usage_holds")
    op.drop_index("ix_holds_org", "usage_holds")
    op.drop_table("usage_holds")
