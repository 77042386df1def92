"""Residents' messaging preferences: carrier opt-outs (STOP) until they opt back in (START)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import opt_outs


async def opt_out(conn: AsyncConnection, channel: str, address: str, reason: str) -> None:
    """Stop every message to ``address`` on ``channel``, saying why (a STOP, a dead number)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(opt_outs).values(
        channel=channel, address=address, opted_out_at=datetime.now(UTC), reason=reason[:64]
    )
    await conn.execute(statement.on_conflict_do_nothing(index_elements=["channel", "address"]))


async def opt_in(conn: AsyncConnection, channel: str, address: str) -> None:
    """Messages to ``address`` on ``channel`` may flow again."""
    await conn.execute(
        delete(opt_outs).where(opt_outs.c.channel == channel, opt_outs.c.address == address)
    )


async def is_opted_out(conn: AsyncConnection, channel: str, address: str) -> bool:
    """True while ``address`` has opted out of ``channel``."""
    query = select(opt_outs.c.address).where(
        opt_outs.c.channel == channel, opt_outs.c.address == address
    )
    return (await conn.execute(query)).first() is not None
