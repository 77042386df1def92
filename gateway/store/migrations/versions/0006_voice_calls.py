"""voice calls: the state of each phone call's flow, keyed by Twilio's CallSid

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_calls",
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("tracking_number", sa.String(length=16), nullable=True),
        sa.Column("recording_url", sa.Text(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("call_sid", name=op.f("pk_voice_calls")),
    )
    op.create_index("ix_voice_calls_open", "voice_calls", ["filed_at", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_voice_calls_open", table_name="voice_calls")
    op.drop_table("voice_calls")
