"""One-time webhook tokens across every web process: the first use wins, a replay is refused.

Mailgun signs only ``timestamp + token``, not the body, so a captured request could be replayed
with another body within its validity window; remembering each token in the database (shared by
every process) refuses that. The ingest path calls ``claim_token`` after the signature check.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import inbound_tokens


async def claim_token(conn: AsyncConnection, channel: str, token: str, now: datetime) -> bool:
    """True when ``token`` is new for ``channel`` (and is now remembered), False on a replay."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(inbound_tokens)
        .values(channel=channel, token=token[:255], seen_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "token"])
        .returning(inbound_tokens.c.token)
    )
    return (await conn.execute(statement)).first() is not None


async def forget_tokens(conn: AsyncConnection, before: datetime) -> int:
    """Drop tokens seen before ``before``: their timestamps are too old to be accepted anyway."""
    result = await conn.execute(delete(inbound_tokens).where(inbound_tokens.c.seen_at < before))
    return result.rowcount or 0
