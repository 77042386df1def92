"""Open311 API keys (``api_keys``): each key's name, hash and dates; never the key itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import api_keys


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A key's name and dates."""

    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class LiveKey:
    """A key not revoked: its name and the hash it is stored under."""

    name: str
    key_hash: str


async def find_key(conn: AsyncConnection, name: str) -> ApiKeyInfo | None:
    """The key called ``name``, live or revoked, or None."""
    c = api_keys.c
    query = select(c.name, c.created_at, c.revoked_at).where(c.name == name)
    row = (await conn.execute(query)).first()
    return None if row is None else ApiKeyInfo(*row)


async def insert_key(conn: AsyncConnection, name: str, key_hash: str, now: datetime) -> None:
    """Store a new key called ``name``."""
    await conn.execute(
        api_keys.insert().values(name=name, key_hash=key_hash, created_at=now, revoked_at=None)
    )


async def renew_key(conn: AsyncConnection, name: str, key_hash: str, now: datetime) -> None:
    """Give the (revoked) name ``name`` a new key, live from ``now``."""
    await conn.execute(
        update(api_keys)
        .where(api_keys.c.name == name)
        .values(key_hash=key_hash, created_at=now, revoked_at=None)
    )


async def revoke_key(conn: AsyncConnection, name: str, now: datetime) -> bool:
    """Revoke the live key called ``name``; False when there is none."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


async def all_keys(conn: AsyncConnection) -> list[ApiKeyInfo]:
    """Every key's name and dates, by name."""
    c = api_keys.c
    query = select(c.name, c.created_at, c.revoked_at).order_by(c.name)
    return [ApiKeyInfo(*row) for row in await conn.execute(query)]


async def live_key_by_hash(conn: AsyncConnection, key_hash: str) -> LiveKey | None:
    """The live key stored under ``key_hash``, or None when unknown or revoked."""
    c = api_keys.c
    query = select(c.name, c.key_hash).where(c.key_hash == key_hash, c.revoked_at.is_(None))
    row = (await conn.execute(query)).first()
    return None if row is None else LiveKey(row.name, row.key_hash)
