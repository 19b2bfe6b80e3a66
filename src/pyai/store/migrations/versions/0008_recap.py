"""recap: each org's config and CRM config, one recap record per call

Revision ID: 0008
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = ("recap",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recap_configs",
        sa.Column("org_id", sa.String(40), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("webhook_url", sa.String(2048), nullable=True),
        sa.Column("default_pack_id", sa.String(64), nullable=False),
        sa.Column("crm", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("crm_updated_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "recap_calls",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("pack_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("call_duration_s", sa.Float(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("crm_write_status", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_recap_calls_org_created", "recap_calls", ["org_id", "created_at"])


def downgrade() -> None:
    op.drop_table("recap_calls")
    op.drop_table("recap_configs")
