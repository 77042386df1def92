"""retention: find a request's stored messages and outbox jobs by its id

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02

The daily purge reads every stored message and job of each closed request it purges; without an
index each of those reads is a scan of the whole table (on SQLite, of every raw body too).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_inbound_messages_request_id"), "inbound_messages", ["request_id"], unique=False
    )
    op.create_index(op.f("ix_outbox_request_id"), "outbox", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_request_id"), table_name="outbox")
    op.drop_index(op.f("ix_inbound_messages_request_id"), table_name="inbound_messages")
