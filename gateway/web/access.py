"""One-time access to a resident's history: a link by email or a six-digit code by SMS.

Only hashes are stored. A link's token is 32 random bytes, looked up by its hash. A code is short,
so it is bound to a random ticket that only the browser that asked holds (the hash covers
both), and a few wrong guesses spend every live code for that contact. Both expire and work once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.access_codes import (
    count_wrong_guess,
    insert_code,
    live_code_by_hash,
    live_codes_of,
    spend_code,
)
from gateway.web.keys import hash_secret


@dataclass(frozen=True, slots=True)
class Issued:
    id: int
    secret: str
    ticket: str = ""


def _code_hash(ticket: str, code: str) -> str:
    return hashlib.sha256(f"code\n{ticket}\n{code}".encode()).hexdigest()


async def issue_link(conn: AsyncConnection, contact: str, minutes: int) -> Issued:
    """A one-time link token for ``contact`` (an email)."""
    token = secrets.token_urlsafe(32)
    return Issued(await insert_code(conn, contact, hash_secret(token), minutes), token)


async def issue_code(conn: AsyncConnection, contact: str, minutes: int) -> Issued:
    """A six-digit code for ``contact`` (a phone), bound to a ticket for the asking browser."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    ticket = secrets.token_urlsafe(24)
    digest = _code_hash(ticket, code)
    return Issued(await insert_code(conn, contact, digest, minutes), code, ticket)


async def use_link(engine: AsyncEngine, token: str) -> str | None:
    """Spend a link token; the contact it opens, or None when wrong, used or expired."""
    async with engine.begin() as conn:
        found = await live_code_by_hash(conn, hash_secret(token))
        if found is None or not await spend_code(conn, found.id):
            return None
    return str(found.contact)


async def use_code(
    engine: AsyncEngine, contact: str, ticket: str, code: str, max_attempts: int
) -> bool:
    """Spend the code for ``contact``; a wrong one counts against every live code of theirs."""
    wanted = _code_hash(ticket, code.strip())
    async with engine.begin() as conn:
        live = await live_codes_of(conn, contact)
        match = next((c for c in live if hmac.compare_digest(c.secret_hash, wanted)), None)
        if match is not None:
            return await spend_code(conn, match.id)
        await count_wrong_guess(conn, [c.id for c in live], max_attempts)
    return False


def issue_code_ticket_only() -> str:
    """A ticket that no code matches: the page for an unknown phone looks like any other."""
    return secrets.token_urlsafe(24)
