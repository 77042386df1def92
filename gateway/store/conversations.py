"""Open questions to residents: one per (channel, address), answered or expired."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.schema import conversations


@dataclass(frozen=True, slots=True)
class Conversation:
    channel: str
    address: str
    request_id: str
    awaiting: str
    choices: tuple[str, ...]
    asked_at: datetime
    expires_at: datetime


def _conversation(row: object) -> Conversation:
    m = row._mapping  # type: ignore[attr-defined]
    return Conversation(
        m["channel"],
        m["address"],
        m["request_id"],
        m["awaiting"],
        tuple(m["choices"] or ()),
        m["asked_at"],
        m["expires_at"],
    )


async def ask(conn: AsyncConnection, conversation: Conversation) -> None:
    """Record the question; a newer question to the same resident replaces an older one."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {
        "channel": conversation.channel,
        "address": conversation.address,
        "request_id": conversation.request_id,
        "awaiting": conversation.awaiting,
        "choices": list(conversation.choices),
        "asked_at": conversation.asked_at,
        "expires_at": conversation.expires_at,
    }
    statement = dialect.insert(conversations).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["channel", "address"],
        set_={k: v for k, v in values.items() if k not in ("channel", "address")},
    )
    await conn.execute(statement)


async def waiting(
    conn: AsyncConnection, channel: str, address: str, now: datetime
) -> Conversation | None:
    """The question ``address`` has not answered yet, unless it has expired."""
    c = conversations.c
    query = select(conversations).where(
        c.channel == channel, c.address == address, c.expires_at > now
    )
    row = (await conn.execute(query)).first()
    return None if row is None else _conversation(row)


async def close(conn: AsyncConnection, channel: str, address: str) -> None:
    """The question is answered (or given up on)."""
    c = conversations.c
    await conn.execute(delete(conversations).where(c.channel == channel, c.address == address))


async def expired(conn: AsyncConnection, now: datetime, limit: int) -> Sequence[Conversation]:
    """Questions nobody answered in time."""
    query = select(conversations).where(conversations.c.expires_at <= now).limit(limit)
    return [_conversation(row) for row in await conn.execute(query)]


async def waiting_keys(conn: AsyncConnection, now: datetime) -> frozenset[tuple[str, str]]:
    """Every (channel, address) with a question still waiting."""
    c = conversations.c
    query = select(c.channel, c.address).where(c.expires_at > now)
    return frozenset((row.channel, row.address) for row in await conn.execute(query))


class WaitingCache:
    """Who has a question waiting, as this process last read it (at most ``max_age`` old).

    The acknowledgement asks this for every message, so it must not cost a query each time: one
    query a second serves them all. Questions asked or closed by this process clear it at once;
    another process's change shows within ``max_age``, and a wrong guess in between costs only
    a spare receipt in the acknowledgement, never the message.
    """

    def __init__(self, engine: AsyncEngine, max_age: float = 1.0) -> None:
        self.engine = engine
        self.max_age = max_age
        self._keys: frozenset[tuple[str, str]] = frozenset()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._read_at = float("-inf")

    async def __call__(self, channel: str, address: str) -> bool:
        if time.monotonic() - self._read_at > self.max_age:
            async with self._lock:
                if time.monotonic() - self._read_at > self.max_age:
                    started = time.monotonic()
                    async with self.engine.connect() as conn:
                        self._keys = await waiting_keys(conn, datetime.now(UTC))
                    self._read_at = started
        return (channel, address) in self._keys
