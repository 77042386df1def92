"""email: threads and inbound-parse replay protection

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_tokens",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=255), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "token", name=op.f("pk_inbound_tokens")),
    )
    op.create_index("ix_inbound_tokens_seen_at", "inbound_tokens", ["seen_at"], unique=False)
    op.create_index("ix_outbox_remote_id", "outbox", ["remote_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_remote_id", table_name="outbox")
    op.drop_index("ix_inbound_tokens_seen_at", table_name="inbound_tokens")
    op.drop_table("inbound_tokens")
