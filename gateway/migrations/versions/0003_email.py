"""email: threads and inbound-parse replay protection

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the issue that needs these tables.
    pass


def downgrade() -> None:
    pass
