"""trace: configs, custom rule packs, scorecards (hash-chained), violations, Tier-2 findings

Revision ID: 0007
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = ("trace",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_configs",
        sa.Column("org_id", sa.String(40), primary_key=True),
        sa.Column("agent_key", sa.String(40), primary_key=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "trace_rule_packs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("pack_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(128), nullable=True),
        sa.Column("legal_status", sa.String(256), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("org_id", "pack_id", "version", name="uq_trace_rule_packs_version"),
    )
    op.create_index("ix_trace_rule_packs_org_created", "trace_rule_packs", ["org_id", "created_at"])
    op.create_table(
        "trace_interactions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=True),
        sa.Column("product", sa.String(16), nullable=True),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("blocked_turns", sa.Integer(), nullable=False),
        sa.Column("modified_turns", sa.Integer(), nullable=False),
        sa.Column("packs_enforced", sa.String(512), nullable=False),
        sa.Column("scorecard", sa.JSON(), nullable=False),
        sa.Column("audit_hash", sa.String(64), nullable=False),
        sa.Column("scored_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("org_id", "seq", name="uq_trace_interactions_seq"),
    )
    op.create_index("ix_trace_interactions_org_created", "trace_interactions", ["org_id", "created_at"])
    op.create_table(
        "trace_violations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("interaction_id", sa.String(40), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=True),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("pack_id", sa.String(64), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("action_taken", sa.String(16), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at_t", sa.Float(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_trace_violations_org_created", "trace_violations", ["org_id", "created_at"])
    op.create_table(
        "trace_findings",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("interaction_id", sa.String(40), nullable=False),
        sa.Column("agent_id", sa.String(40), nullable=True),
        sa.Column("check_id", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("finding", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_trace_findings_org_created", "trace_findings", ["org_id", "created_at"])


def downgrade() -> None:
    for table in ("trace_findings", "trace_violations", "trace_interactions", "trace_rule_packs", "trace_configs"):
        op.drop_table(table)
