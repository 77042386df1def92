"""tracking series, and failed or unparsed messages dismissed by staff

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A database that already stored messages handed out numbers before series existed: it is
recorded as series 0, whose numbers are exactly the old ones, so nothing issued is renumbered.
A database with no message yet gets its series from the config when it first serves.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracking_series",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("series", sa.Integer(), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_series")),
    )
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("dismissed_by", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("dismissed_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    issued = bind.execute(sa.text("SELECT 1 FROM inbound_messages LIMIT 1")).first()
    if issued is not None:
        # SQLite keeps UTC without a zone (see schema.UtcDateTime); PostgreSQL keeps the zone.
        now = datetime.now(UTC)
        bound_at = now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now
        bind.execute(
            sa.text("INSERT INTO tracking_series (id, series, bound_at) VALUES (1, 0, :at)"),
            {"at": bound_at},
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("dismissed_at")
        batch.drop_column("dismissed_reason")
        batch.drop_column("dismissed_by")
    op.drop_table("tracking_series")
