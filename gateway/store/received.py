"""Stored messages after the acknowledgement: the intake worker's claims and settlements, and
what staff list and parse again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.records import InboundMessage
from gateway.store.codec import message_from_json
from gateway.store.inbound import FAILED, RECEIVED, UNPARSED, Envelope
from gateway.store.schema import inbound_messages, service_requests


@dataclass(frozen=True, slots=True)
class Claimed:
    """A received message taken by the intake worker, decoded as its channel parsed it."""

    id: int
    message: InboundMessage
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Settlement:
    """What became of one claimed message: its new state, its request, or why it failed."""

    inbound_id: int
    state: str
    request_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class InboundSummary:
    """One stored message as staff list it."""

    id: int
    channel: str
    provider_id: str
    state: str
    received_at: datetime
    error: str | None


@dataclass(frozen=True, slots=True)
class StoredRaw:
    """A stored message's raw request, enough to parse it again."""

    id: int
    channel: str
    state: str
    envelope: Envelope


async def claim_received(
    conn: AsyncConnection, limit: int, *, only: int | None = None
) -> list[Claimed]:
    """Lock up to ``limit`` received messages, oldest first, or just message ``only`` (skipping
    others' locks)."""
    c = inbound_messages.c
    query = (
        select(c.id, c.message, c.raw_body, c.received_at)
        .where(c.state == RECEIVED, c.id == only if only is not None else true())
        .order_by(c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [
        Claimed(row.id, message_from_json(row.message, row.raw_body), row.received_at)
        for row in await conn.execute(query)
    ]


async def received_ids(conn: AsyncConnection, limit: int) -> list[int]:
    """The oldest received messages' ids."""
    c = inbound_messages.c
    query = select(c.id).where(c.state == RECEIVED).order_by(c.id).limit(limit)
    return [row.id for row in await conn.execute(query)]


# One statement settles a whole batch of inbound rows, each with its own outcome.
# Only a message still received is settled: one another worker took and settled meanwhile (or
# staff dismissed) keeps its outcome, whatever a late or mistaken settlement says.
_SETTLE = (
    update(inbound_messages)
    .where(inbound_messages.c.id == bindparam("b_id"), inbound_messages.c.state == RECEIVED)
    .values(
        state=bindparam("b_state"),
        request_id=bindparam("b_request"),
        error=bindparam("b_error"),
        processed_at=bindparam("b_now"),
    )
)


async def settle(conn: AsyncConnection, settled: Sequence[Settlement], now: datetime) -> None:
    """Record each message's outcome in one statement."""
    rows = [
        {
            "b_id": s.inbound_id,
            "b_state": s.state,
            "b_request": s.request_id,
            "b_error": s.error,
            "b_now": now,
        }
        for s in settled
    ]
    if rows:
        await conn.execute(_SETTLE, rows)


async def original_message(
    conn: AsyncConnection, channel: str, provider_id: str
) -> InboundMessage | None:
    """The message a request was made from, as its channel parsed it."""
    c = inbound_messages.c
    query = select(c.message).where(c.channel == channel, c.provider_id == provider_id)
    data = (await conn.execute(query)).scalar_one_or_none()
    return message_from_json(data) if data else None


async def request_of_message(conn: AsyncConnection, channel: str, provider_id: str) -> str | None:
    """The request a stored message made or joined, once the intake has settled it."""
    c = inbound_messages.c
    query = select(c.request_id).where(c.channel == channel, c.provider_id == provider_id)
    return (await conn.execute(query)).scalar_one_or_none()


async def list_inbound(
    engine: AsyncEngine, *, flagged_only: bool = False, limit: int = 100
) -> list[InboundSummary]:
    """Stored messages, newest first; with ``flagged_only`` those flagged for staff."""
    c = inbound_messages.c
    query = select(c.id, c.channel, c.provider_id, c.state, c.received_at, c.error)
    if flagged_only:
        query = query.where(c.state.in_([UNPARSED, FAILED]))
    query = query.order_by(c.id.desc()).limit(limit)
    async with engine.connect() as conn:
        return [InboundSummary(*row) for row in await conn.execute(query)]


async def get_raw(conn: AsyncConnection, inbound_id: int) -> StoredRaw | None:
    """The raw request stored as message ``inbound_id``."""
    row = (
        await conn.execute(select(inbound_messages).where(inbound_messages.c.id == inbound_id))
    ).first()
    return _stored_raw(row) if row is not None else None


def _stored_raw(row: Any) -> StoredRaw:
    envelope = Envelope(row.channel, row.raw_body, dict(row.headers), row.public_url)
    return StoredRaw(row.id, row.channel, row.state, envelope)


async def set_state(
    conn: AsyncConnection, inbound_id: int, state: str, error: str | None = None
) -> None:
    """Move one stored message to ``state``, with the reason when it is flagged."""
    values = {"state": state, "error": error[:2000] if error else None}
    await conn.execute(
        update(inbound_messages).where(inbound_messages.c.id == inbound_id).values(**values)
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """One stored message as staff inspect it."""

    summary: InboundSummary
    raw: StoredRaw
    sender: str
    tracking_number: str | None


async def get_shown(conn: AsyncConnection, inbound_id: int) -> Shown | None:
    """Message ``inbound_id`` with its raw request and the request it made, if any."""
    c, r = inbound_messages.c, service_requests.c
    joined = inbound_messages.outerjoin(service_requests, r.id == c.request_id)
    query = (
        select(inbound_messages, r.tracking_number).select_from(joined).where(c.id == inbound_id)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    summary = InboundSummary(
        row.id, row.channel, row.provider_id, row.state, row.received_at, row.error
    )
    return Shown(summary, _stored_raw(row), row.sender, row.tracking_number)


async def last_received_from(conn: AsyncConnection, channel: str, sender: str) -> datetime | None:
    """When ``sender`` last wrote to us on ``channel`` (a provider's messaging window counts
    from there), or None if never."""
    c = inbound_messages.c
    query = select(func.max(c.received_at)).where(c.channel == channel, c.sender == sender)
    found = (await conn.execute(query)).scalar_one_or_none()
    return _aware(found)


def _aware(moment: datetime | None) -> datetime | None:
    # An aggregate loses the column's type on SQLite: its text or naive value is UTC.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
