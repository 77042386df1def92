"""Open311 API keys: made and revoked by staff on the command line, kept only as hashes.

A key is 32 random bytes, so one SHA-256 is enough to make the stored hash useless to a thief
(a slow password hash protects guessable secrets; these are not guessable).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.schema import api_keys


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    name: str
    created_at: datetime
    revoked_at: datetime | None


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest under which a random secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


async def create_key(engine: AsyncEngine, name: str) -> str:
    """Make a key called ``name`` (a revoked name may be reused); returns the key, shown once."""
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        row = (await conn.execute(select(api_keys).where(api_keys.c.name == name))).first()
        if row is not None and row.revoked_at is None:
            raise ValueError(f"an api key called {name!r} exists; revoke it first")
        values = {"key_hash": hash_secret(key), "created_at": now, "revoked_at": None}
        if row is None:
            await conn.execute(api_keys.insert().values(name=name, **values))
        else:
            await conn.execute(update(api_keys).where(api_keys.c.name == name).values(**values))
    return key


async def revoke_key(engine: AsyncEngine, name: str) -> bool:
    """Revoke the key called ``name``; False when there is no live key by that name."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(api_keys)
            .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return bool(result.rowcount)


async def list_keys(engine: AsyncEngine) -> list[ApiKeyInfo]:
    """Every key's name and dates, never the key."""
    query = select(api_keys.c.name, api_keys.c.created_at, api_keys.c.revoked_at)
    async with engine.connect() as conn:
        return [ApiKeyInfo(*row) for row in await conn.execute(query.order_by(api_keys.c.name))]


async def key_name(engine: AsyncEngine, key: str) -> str | None:
    """The name of the live key ``key``, or None when it is unknown or revoked."""
    if not key:
        return None
    digest = hash_secret(key)
    query = select(api_keys.c.name, api_keys.c.key_hash).where(
        api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    # The look-up is by hash; compare again in constant time all the same.
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return str(row.name)
