"""omni calls: one record per /v1/omni session (transcript, tool outcomes, recording, summary)

Revision ID: 0006
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("omni_calls",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "omni_calls",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=True),
        sa.Column("session_label", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rate", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("turns", sa.JSON(), nullable=False),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column("recording_key", sa.String(256), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("extraction", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_omni_calls_org_created", "omni_calls", ["org_id", "created_at"])
    op.create_index("ix_omni_calls_org_label", "omni_calls", ["org_id", "session_label", "created_at"])
    op.create_index("ix_omni_calls_status_updated", "omni_calls", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_table("omni_calls")
