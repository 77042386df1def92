"""Open311 API keys: made and revoked by staff on the command line, kept only as hashes.

A key is 32 random bytes, so one SHA-256 is enough to make the stored hash useless to a thief
(a slow password hash protects guessable secrets; these are not guessable).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store import api_keys
from gateway.store.api_keys import ApiKeyInfo


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest under which a random secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


async def create_key(engine: AsyncEngine, name: str) -> str:
    """Make a key called ``name`` (a revoked name may be reused); returns the key, shown once."""
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        found = await api_keys.find_key(conn, name)
        if found is not None and found.revoked_at is None:
            raise ValueError(f"an api key called {name!r} exists; revoke it first")
        if found is None:
            await api_keys.insert_key(conn, name, hash_secret(key), now)
        else:
            await api_keys.renew_key(conn, name, hash_secret(key), now)
    return key


async def revoke_key(engine: AsyncEngine, name: str) -> bool:
    """Revoke the key called ``name``; False when there is no live key by that name."""
    async with engine.begin() as conn:
        return await api_keys.revoke_key(conn, name, datetime.now(UTC))


async def list_keys(engine: AsyncEngine) -> list[ApiKeyInfo]:
    """Every key's name and dates, never the key."""
    async with engine.connect() as conn:
        return await api_keys.all_keys(conn)


async def key_name(engine: AsyncEngine, key: str) -> str | None:
    """The name of the live key ``key``, or None when it is unknown or revoked."""
    if not key:
        return None
    digest = hash_secret(key)
    async with engine.connect() as conn:
        found = await api_keys.live_key_by_hash(conn, digest)
    # The look-up is by hash; compare again in constant time all the same.
    if found is None or not hmac.compare_digest(found.key_hash, digest):
        return None
    return str(found.name)
