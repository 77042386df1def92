"""channel cursors for polled ways in (X), and lookups by sender and by provider message

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02

0006 is being written beside this one (another branch); the two are chained when merged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_cursors",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("position", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_channel_cursors")),
    )
    op.create_index(
        "ix_inbound_channel_sender",
        "inbound_messages",
        ["channel", "sender", "received_at"],
        unique=False,
    )
    op.create_index(
        "ix_service_requests_channel_message",
        "service_requests",
        ["channel", "channel_message_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_service_requests_channel_message", table_name="service_requests")
    op.drop_index("ix_inbound_channel_sender", table_name="inbound_messages")
    op.drop_table("channel_cursors")
