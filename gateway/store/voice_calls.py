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

from sqlalchemy import bindparam, select, update
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


@dataclass(frozen=True, slots=True)
class NewCall:
    """A call at its first answer (seq 1)."""

    sid: str
    caller: str
    step: str
    data: dict[str, Any]
    answer: str
    now: datetime


async def start_calls(conn: AsyncConnection, calls: list[NewCall]) -> list[bool]:
    """Open calls in one statement; False for each that was already open (a retried ring)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    rows = [
        {"call_sid": n.sid, "caller": n.caller[:32], "step": n.step, "seq": 1, "data": n.data,
         "answer": n.answer, "started_at": n.now, "updated_at": n.now}
        for n in calls
    ]  # fmt: skip
    statement = (
        dialect.insert(voice_calls)
        .on_conflict_do_nothing(index_elements=["call_sid"])
        .returning(voice_calls.c.call_sid)
    )
    fresh = {sid for (sid,) in await conn.execute(statement, rows)}
    opened = []
    for n in calls:
        opened.append(n.sid in fresh)
        fresh.discard(n.sid)
    return opened


async def get_call(conn: AsyncConnection, sid: str, *, lock: bool = False) -> CallRow | None:
    """The call ``sid``; with ``lock``, held for this transaction (PostgreSQL)."""
    query = select(voice_calls).where(voice_calls.c.call_sid == sid)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return None if row is None else _row(row)


@dataclass(frozen=True, slots=True)
class Advance:
    """The answer to webhook ``seq`` of call ``sid``: the step it leads to, and its state."""

    sid: str
    seq: int
    step: str
    data: dict[str, Any]
    answer: str
    now: datetime


_ADVANCE = (
    update(voice_calls)
    .where(voice_calls.c.call_sid == bindparam("b_sid"))
    .values(
        step=bindparam("b_step"),
        seq=bindparam("b_next"),
        data=bindparam("b_data"),
        answer=bindparam("b_answer"),
        updated_at=bindparam("b_now"),
    )
)


async def advance_calls(conn: AsyncConnection, steps: list[Advance]) -> list[bool]:
    """Apply many calls' answers in two statements; False for each one another process (or an
    earlier copy of the same webhook) applied first."""
    c = voice_calls.c
    sids = sorted({s.sid for s in steps})
    query = select(c.call_sid, c.seq).where(c.call_sid.in_(sids)).with_for_update()
    current = {sid: seq for sid, seq in await conn.execute(query)}
    won, rows = [], []
    for s in steps:
        fresh = current.get(s.sid) == s.seq
        if fresh:
            current[s.sid] = s.seq + 1
            rows.append(
                {"b_sid": s.sid, "b_step": s.step, "b_next": s.seq + 1, "b_data": s.data,
                 "b_answer": s.answer, "b_now": s.now}
            )  # fmt: skip
        won.append(fresh)
    if rows:
        await conn.execute(_ADVANCE, rows)
    return won


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
