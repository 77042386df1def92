"""Phone calls in progress: each call's step, what it gathered and its last answer, by CallSid.

Any web process may get a call's next webhook, so nothing of a call lives in memory. A step is
applied with a compare-and-set on ``seq``: of two processes answering the same webhook (a
Twilio retry racing its first copy), one applies it and the other repeats the stored answer.
A call's report is stored once, in the transaction that marks the call filed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records import ServiceRequest
from gateway.store.inbound import RECEIVED
from gateway.store.requests import from_row
from gateway.store.schema import inbound_messages, service_requests, voice_calls


@dataclass(frozen=True, slots=True)
class CallRow:
    """One call as stored."""

    call_sid: str
    caller: str
    step: str
    seq: int
    data: dict[str, Any]
    answer: str
    updated_at: datetime
    filed_at: datetime | None
    tracking_number: str | None
    recording_url: str | None
    transcript: str | None


def _row(row: Any) -> CallRow:
    return CallRow(
        row.call_sid,
        row.caller,
        row.step,
        row.seq,
        dict(row.data),
        row.answer,
        row.updated_at,
        row.filed_at,
        row.tracking_number,
        row.recording_url,
        row.transcript,
    )


async def start_call(
    conn: AsyncConnection,
    sid: str,
    caller: str,
    step: str,
    data: dict[str, Any],
    answer: str,
    now: datetime,
) -> bool:
    """Open the call at its first answer (seq 1); False when it was already open."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(voice_calls)
        .values(
            call_sid=sid,
            caller=caller[:32],
            step=step,
            seq=1,
            data=data,
            answer=answer,
            started_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["call_sid"])
    )
    return bool((await conn.execute(statement)).rowcount)


async def get_call(conn: AsyncConnection, sid: str, *, lock: bool = False) -> CallRow | None:
    """The call ``sid``; with ``lock``, held for this transaction (PostgreSQL)."""
    query = select(voice_calls).where(voice_calls.c.call_sid == sid)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return None if row is None else _row(row)


async def advance_call(
    conn: AsyncConnection,
    sid: str,
    seq: int,
    step: str,
    data: dict[str, Any],
    answer: str,
    now: datetime,
) -> bool:
    """Apply the answer to webhook ``seq``; False when another process applied it first."""
    c = voice_calls.c
    statement = (
        update(voice_calls)
        .where(c.call_sid == sid, c.seq == seq)
        .values(step=step, seq=seq + 1, data=data, answer=answer, updated_at=now)
    )
    return bool((await conn.execute(statement)).rowcount)


async def touch_call(conn: AsyncConnection, sid: str, now: datetime) -> None:
    """The call is alive (a callback came) without a step of its flow."""
    c = voice_calls.c
    await conn.execute(update(voice_calls).where(c.call_sid == sid).values(updated_at=now))


async def mark_filed(
    conn: AsyncConnection, sid: str, outcome: str, tracking_number: str, now: datetime
) -> bool:
    """Record that the call's report is stored; False when it already was."""
    c = voice_calls.c
    statement = (
        update(voice_calls)
        .where(c.call_sid == sid, c.filed_at.is_(None))
        .values(filed_at=now, outcome=outcome, tracking_number=tracking_number, updated_at=now)
    )
    return bool((await conn.execute(statement)).rowcount)


async def attach_to_call(conn: AsyncConnection, sid: str, **values: str) -> bool:
    """Keep a recording URL or transcript on an unfiled call; False once its report is stored."""
    c = voice_calls.c
    statement = update(voice_calls).where(c.call_sid == sid, c.filed_at.is_(None)).values(**values)
    return bool((await conn.execute(statement)).rowcount)


async def stale_calls(conn: AsyncConnection, before: datetime, limit: int = 100) -> list[str]:
    """Unfiled calls whose last webhook came before ``before``."""
    c = voice_calls.c
    query = (
        select(c.call_sid)
        .where(c.filed_at.is_(None), c.updated_at < before)
        .order_by(c.updated_at)
        .limit(limit)
    )
    return [row.call_sid for row in await conn.execute(query)]


async def request_for_call(conn: AsyncConnection, channel: str, sid: str) -> ServiceRequest | None:
    """The request filed from call ``sid``'s report, once the intake made it."""
    r = service_requests.c
    query = select(service_requests).where(r.channel == channel, r.channel_message_id == sid)
    row = (await conn.execute(query)).first()
    return None if row is None else from_row(row)


async def report_waiting(conn: AsyncConnection, channel: str, sid: str) -> bool:
    """True while call ``sid``'s report is stored but not yet made into a request."""
    c = inbound_messages.c
    query = select(c.state).where(c.channel == channel, c.provider_id == sid)
    return (await conn.execute(query)).scalar_one_or_none() == RECEIVED
