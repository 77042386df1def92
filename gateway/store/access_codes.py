"""One-time history links and codes (``access_codes``): hashes only, expiring, spent once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import access_codes


@dataclass(frozen=True, slots=True)
class LiveCode:
    """A link or code neither used nor expired."""

    id: int
    contact: str
    secret_hash: str


async def insert_code(conn: AsyncConnection, contact: str, secret_hash: str, minutes: int) -> int:
    """Store a code for ``contact`` that expires in ``minutes``; its id."""
    now = datetime.now(UTC)
    result = await conn.execute(
        access_codes.insert()
        .values(
            contact=contact,
            secret_hash=secret_hash,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            attempts=0,
        )
        .returning(access_codes.c.id)
    )
    return int(result.scalar_one())


async def live_code_by_hash(conn: AsyncConnection, secret_hash: str) -> LiveCode | None:
    """The live code stored under ``secret_hash``, or None."""
    c = access_codes.c
    query = select(c.id, c.contact, c.secret_hash).where(c.secret_hash == secret_hash)
    row = (await conn.execute(query.where(*_live()))).first()
    return None if row is None else LiveCode(row.id, row.contact, row.secret_hash)


async def live_codes_of(conn: AsyncConnection, contact: str) -> list[LiveCode]:
    """Every live code issued to ``contact``."""
    c = access_codes.c
    query = select(c.id, c.contact, c.secret_hash).where(c.contact == contact, *_live())
    return [LiveCode(r.id, r.contact, r.secret_hash) for r in await conn.execute(query)]


async def spend_code(conn: AsyncConnection, code_id: int) -> bool:
    """Mark the code used, only if nobody spent it in the meantime; False when someone had."""
    c = access_codes.c
    result = await conn.execute(
        update(access_codes)
        .where(c.id == code_id, c.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


async def count_wrong_guess(
    conn: AsyncConnection, code_ids: Sequence[int], max_attempts: int
) -> None:
    """One more wrong guess against each code; those at ``max_attempts`` guesses are spent."""
    if not code_ids:
        return
    c = access_codes.c
    ids = list(code_ids)
    await conn.execute(update(access_codes).where(c.id.in_(ids)).values(attempts=c.attempts + 1))
    await conn.execute(
        update(access_codes)
        .where(c.id.in_(ids), c.attempts >= max_attempts)
        .values(used_at=datetime.now(UTC))
    )


async def drop_expired_codes(conn: AsyncConnection, before: datetime) -> int:
    """Drop codes that expired before ``before``; how many."""
    result = await conn.execute(access_codes.delete().where(access_codes.c.expires_at < before))
    return result.rowcount or 0


def _live() -> list[ColumnElement[bool]]:
    c = access_codes.c
    return [c.used_at.is_(None), c.expires_at > datetime.now(UTC)]
