"""omni: agent profiles, custom tools and the tool-call audit log

Revision ID: 0005
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("omni",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("persona_system_prompt", sa.Text(), nullable=True),
        sa.Column("greeting", sa.Text(), nullable=True),
        sa.Column("voice_id", sa.String(80), nullable=True),
        sa.Column("brain_model", sa.String(128), nullable=False),
        sa.Column("barge_sensitivity", sa.String(16), nullable=False),
        sa.Column("ack_mode", sa.String(16), nullable=False),
        sa.Column("recordings_enabled", sa.Boolean(), nullable=False),
        sa.Column("consent_line", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("keyterms", sa.JSON(), nullable=False),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.Column("extraction_schema", sa.JSON(), nullable=True),
        sa.Column("extraction_webhook_url", sa.String(2048), nullable=True),
        sa.Column("kb_endpoint", sa.String(2048), nullable=True),
        sa.Column("knowledge_base_id", sa.String(40), nullable=True),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_agents_org_created", "agents", ["org_id", "created_at"])
    op.create_table(
        "tools",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("input_schema", sa.JSON(), nullable=False),
        sa.Column("config_schema", sa.JSON(), nullable=False),
        sa.Column("webhook_url", sa.String(2048), nullable=True),
        sa.Column("execution", sa.String(8), nullable=False),
        sa.Column("auth_header", sa.String(64), nullable=True),
        sa.Column("sealed_auth_secret", sa.Text(), nullable=True),
        sa.Column("side_effect", sa.String(8), nullable=False),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_tools_org_name"),
    )
    op.create_index("ix_tools_org_created", "tools", ["org_id", "created_at"])
    op.create_table(
        "tool_calls",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("tool_id", sa.String(40), nullable=False),
        sa.Column("tool_name", sa.String(64), nullable=False),
        sa.Column("execution", sa.String(8), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=True),
        sa.Column("call_id", sa.String(256), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_tool_calls_org_created", "tool_calls", ["org_id", "created_at"])


def downgrade() -> None:
    op.drop_table("tool_calls")
    op.drop_table("tools")
    op.drop_table("agents")
