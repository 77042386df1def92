"""Where each polled way in got to: one position per source (``x:mentions``, ``x:dm_events``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import channel_cursors


async def position(conn: AsyncConnection, source: str) -> str | None:
    """The last position stored for ``source``, or None before its first poll."""
    c = channel_cursors.c
    found = (await conn.execute(select(c.position).where(c.source == source))).scalar()
    return str(found) if found is not None else None


async def move(conn: AsyncConnection, source: str, to: str) -> None:
    """Record that everything of ``source`` up to ``to`` is stored."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    now = datetime.now(UTC)
    statement = dialect.insert(channel_cursors).values(source=source, position=to, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["source"], set_={"position": to, "updated_at": now}
    )
    await conn.execute(statement)
