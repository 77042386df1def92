"""One-time webhook tokens across every web process: the first use wins, a replay is refused.

Mailgun signs only ``timestamp + token``, not the body, so a captured request could be replayed
with another body within its validity window; remembering each token in the database (shared by
every process) refuses that. The ingest path calls ``claim_token`` after the signature check.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import inbound_tokens


async def claim_token(
    conn: AsyncConnection, channel: str, token: str, body: bytes, now: datetime
) -> bool:
    """False on a replay: ``token`` seen before with another body. The provider's own retry of
    the same request (same token, same body) is allowed, to be stored once and answered again."""
    digest = hashlib.sha256(body).hexdigest()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(inbound_tokens)
        .values(channel=channel, token=token[:255], body_sha256=digest, seen_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "token"])
        .returning(inbound_tokens.c.token)
    )
    if (await conn.execute(statement)).first() is not None:
        return True
    known = select(inbound_tokens.c.body_sha256).where(
        inbound_tokens.c.channel == channel, inbound_tokens.c.token == token[:255]
    )
    return (await conn.execute(known)).scalar_one_or_none() == digest


async def forget_tokens(conn: AsyncConnection, before: datetime) -> int:
    """Drop tokens seen before ``before``: their timestamps are too old to be accepted anyway."""
    result = await conn.execute(delete(inbound_tokens).where(inbound_tokens.c.seen_at < before))
    return result.rowcount or 0
