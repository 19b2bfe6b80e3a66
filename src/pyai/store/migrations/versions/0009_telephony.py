"""telephony: each org's carrier and its phone numbers

Revision ID: 0009
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0001"
branch_labels = ("telephony",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telephony_carriers",
        sa.Column("org_id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "telephony_numbers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("phone_number", sa.String(20), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("area_code", sa.String(8), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=True),
        sa.Column("monthly_cost_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("carrier", sa.String(16), nullable=False),
        sa.Column("carrier_number_id", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("released_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_telephony_numbers_org_created", "telephony_numbers", ["org_id", "created_at"])
    op.create_index("ix_telephony_numbers_phone", "telephony_numbers", ["phone_number", "status"])


def downgrade() -> None:
    op.drop_table("telephony_numbers")
    op.drop_table("telephony_carriers")
