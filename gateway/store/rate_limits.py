"""Fixed-window rate-limit counters (``rate_limits``), shared by every web process.

Each key (a hash chosen by the caller, never a client address) has one row: the window's start
and its count. One upsert counts an event and starts a new window once the old one has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import UtcDateTime, rate_limits


async def count_hit(conn: AsyncConnection, key: str, now: datetime, window: timedelta) -> int:
    """Count one more event under ``key``; the count in its window, a new one once ``window``
    has passed since the window began."""
    expired = rate_limits.c.window_start < now - window
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(rate_limits).values(key=key, window_start=now, count=1)
    statement = insert.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((expired, 1), else_=rate_limits.c.count + 1),
            "window_start": case(
                (expired, literal(now, UtcDateTime())), else_=rate_limits.c.window_start
            ),
        },
    ).returning(rate_limits.c.count)
    return int((await conn.execute(statement)).scalar_one())


async def drop_windows_before(conn: AsyncConnection, before: datetime) -> int:
    """Drop the windows that began before ``before``; how many."""
    result = await conn.execute(rate_limits.delete().where(rate_limits.c.window_start < before))
    return result.rowcount or 0
