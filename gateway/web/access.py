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
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.schema import access_codes
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
    return Issued(await _insert(conn, contact, hash_secret(token), minutes), token)


async def issue_code(conn: AsyncConnection, contact: str, minutes: int) -> Issued:
    """A six-digit code for ``contact`` (a phone), bound to a ticket for the asking browser."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    ticket = secrets.token_urlsafe(24)
    return Issued(await _insert(conn, contact, _code_hash(ticket, code), minutes), code, ticket)


async def _insert(conn: AsyncConnection, contact: str, digest: str, minutes: int) -> int:
    now = datetime.now(UTC)
    result = await conn.execute(
        access_codes.insert()
        .values(
            contact=contact,
            secret_hash=digest,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            attempts=0,
        )
        .returning(access_codes.c.id)
    )
    return int(result.scalar_one())


async def use_link(engine: AsyncEngine, token: str) -> str | None:
    """Spend a link token; the contact it opens, or None when wrong, used or expired."""
    c = access_codes.c
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(c.id, c.contact).where(c.secret_hash == hash_secret(token)).where(*_live())
            )
        ).first()
        if row is None or not await _spend(conn, row.id):
            return None
    return str(row.contact)


async def use_code(
    engine: AsyncEngine, contact: str, ticket: str, code: str, max_attempts: int
) -> bool:
    """Spend the code for ``contact``; a wrong one counts against every live code of theirs."""
    c = access_codes.c
    wanted = _code_hash(ticket, code.strip())
    async with engine.begin() as conn:
        rows = list(
            await conn.execute(select(c.id, c.secret_hash).where(c.contact == contact, *_live()))
        )
        match = next((r for r in rows if hmac.compare_digest(r.secret_hash, wanted)), None)
        if match is not None:
            return await _spend(conn, match.id)
        ids = [r.id for r in rows]
        if ids:
            await conn.execute(
                update(access_codes).where(c.id.in_(ids)).values(attempts=c.attempts + 1)
            )
            await conn.execute(
                update(access_codes)
                .where(c.id.in_(ids), c.attempts >= max_attempts)
                .values(used_at=datetime.now(UTC))
            )
    return False


def _live() -> list[ColumnElement[bool]]:
    c = access_codes.c
    return [c.used_at.is_(None), c.expires_at > datetime.now(UTC)]


async def _spend(conn: AsyncConnection, code_id: int) -> bool:
    """Mark used, only if nobody spent it in the meantime."""
    c = access_codes.c
    result = await conn.execute(
        update(access_codes)
        .where(c.id == code_id, c.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


def issue_code_ticket_only() -> str:
    """A ticket that no code matches: the page for an unknown phone looks like any other."""
    return secrets.token_urlsafe(24)
