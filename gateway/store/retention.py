"""Retention of a closed request: its contact details go, everything staff and Open311 need stays.

A closed request whose last change is older than the cut-off keeps its row (tracking number,
service, place, status, case id), its history and its stored messages' rows, so that its number,
its Open311 GET and a retried webhook (the unique channel and provider id) all work as before.
What goes, wherever it is kept: the reporter's name, phone, email and reply address; the text
as received (``original_text``: quoted replies and signatures live there); those contacts and
any other email address or phone number in the description, the attributes and every history
entry; the stored messages' sender, raw bytes, headers and parsed message; and the notifications
about it (address, body, subject, thread; one never sent is dead, so it never goes to no one).
A ``contact_purged`` history entry records it and makes the purge idempotent. Opt-outs are not
touched (``gateway.store.leftovers`` says why). Rows are never deleted: an inbound row's id is
its tracking number, which SQLite would hand out again if the newest row went.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records import InboundMessage, Status
from gateway.redaction import contact_pattern, redact_detail, redact_text, redact_value
from gateway.store.codec import message_to_json
from gateway.store.schema import (
    conversations,
    inbound_messages,
    outbox,
    request_events,
    service_requests,
    voice_calls,
)

PURGED = "contact_purged"
# The tables a purge changes, in the order they are reported.
TABLES = (
    "service_requests",
    "request_events",
    "inbound_messages",
    "outbox",
    "conversations",
    "voice_calls",
)
_WAITING = ("pending", "in_flight")


async def closed_before(
    conn: AsyncConnection,
    before: datetime,
    *,
    after: str = "",
    among: list[str] | None = None,
    limit: int = 100,
) -> list[tuple[str, str]]:
    """(id, tracking number) of closed requests last changed before ``before`` whose contacts
    are still kept, by id after ``after`` (or only ``among`` these); one with a job in flight
    waits for the next run."""
    r = service_requests.c
    purged = exists().where(request_events.c.request_id == r.id, request_events.c.kind == PURGED)
    held = exists().where(outbox.c.request_id == r.id, outbox.c.state == "in_flight")
    query = (
        select(r.id, r.tracking_number)
        .where(r.status == Status.CLOSED.value, r.updated_at < before, r.id > after)
        .where(~purged, ~held, r.id.in_(among) if among is not None else r.id.is_not(None))
        .order_by(r.id)
        .limit(limit)
    )
    return [(row.id, row.tracking_number) for row in await conn.execute(query)]


async def lock_requests(conn: AsyncConnection, request_ids: list[str]) -> None:
    """Take the write lock (SQLite) or these rows' locks (PostgreSQL) before reading them, so
    that nothing changes a request between what the purge reads and what it writes."""
    r = service_requests.c
    await conn.execute(
        update(service_requests).where(r.id.in_(request_ids)).values(status=r.status)
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """What purging one request changes: the new values of each row that changes."""

    request: dict[str, Any]
    events: list[tuple[int, dict[str, Any]]]
    messages: list[tuple[int, dict[str, Any]]]
    jobs: list[tuple[int, dict[str, Any]]]
    conversations: int
    # Phone calls that made the request (by its tracking number): the caller ID and all the
    # call gathered and said.
    tracking_number: str = ""
    calls: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "service_requests": 1,
            "request_events": len(self.events),
            "inbound_messages": len(self.messages),
            "outbox": len(self.jobs),
            "conversations": self.conversations,
            "voice_calls": self.calls,
        }


async def purge_request(
    conn: AsyncConnection, request_id: str, now: datetime, *, apply: bool
) -> dict[str, int]:
    """Blank one closed request's contact details (only count them unless ``apply``); the rows
    changed per table."""
    plan = await _plan(conn, request_id)
    if apply:
        await _write(conn, request_id, plan, now)
    return plan.counts()


async def _plan(conn: AsyncConnection, request_id: str) -> _Plan:
    """Read every row of the request that may hold a contact, and what each becomes."""
    (request,) = await _rows(conn, service_requests, "id", request_id)
    events = await _rows(conn, request_events, "request_id", request_id)
    messages = await _rows(conn, inbound_messages, "request_id", request_id)
    jobs = await _rows(conn, outbox, "request_id", request_id)
    waiting = await _rows(conn, conversations, "request_id", request_id)
    calls = await _rows(conn, voice_calls, "tracking_number", request.tracking_number)
    pattern = contact_pattern(_contacts(request, messages, jobs))
    return _Plan(
        request=_purged_request(request, pattern),
        events=[
            (e.id, {"detail": new})
            for e in events
            if (new := redact_detail(e.detail or {}, pattern)) != e.detail
        ],
        messages=[(m.id, blank_message(m.channel, m.provider_id)) for m in messages],
        jobs=[(j.id, new) for j in jobs if (new := _purged_job(j, pattern)) != _job_of(j)],
        conversations=len(waiting),
        tracking_number=request.tracking_number,
        calls=sum(1 for call in calls if call.caller or call.data or call.answer),
    )


async def _write(conn: AsyncConnection, request_id: str, plan: _Plan, now: datetime) -> None:
    await conn.execute(
        update(service_requests).where(_of(service_requests, "id", request_id)).values(plan.request)
    )
    for table, changes in (
        (request_events, plan.events),
        (inbound_messages, plan.messages),
        (outbox, plan.jobs),
    ):
        for row_id, values in changes:
            await conn.execute(update(table).where(table.c.id == row_id).values(values))
    await conn.execute(delete(conversations).where(_of(conversations, "request_id", request_id)))
    if plan.calls:
        # The call's row stays (a retried webhook of it is still recognised), emptied.
        await conn.execute(
            update(voice_calls)
            .where(voice_calls.c.tracking_number == plan.tracking_number)
            .values(caller="", data={}, answer="", recording_url=None, transcript=None)
        )
    await conn.execute(
        request_events.insert().values(
            request_id=request_id, at=now, kind=PURGED, status=None, detail={}
        )
    )


def _of(table: Table, column: str, value: str) -> ColumnElement[bool]:
    return table.c[column] == value


async def _rows(conn: AsyncConnection, table: Table, column: str, value: str) -> list[Row[Any]]:
    return list(await conn.execute(select(table).where(_of(table, column, value))))


def blank_message(channel: str, provider_id: str) -> dict[str, Any]:
    """A stored message's columns with nothing of its sender left: its row, state and ids stay
    (a retried webhook is still known), and its parsed message is an empty one."""
    return {
        "sender": "",
        "raw_body": b"",
        "headers": {},
        "message": message_to_json(InboundMessage(channel, provider_id, sender="")),
    }


def _contacts(
    request: Row[Any], messages: Iterable[Row[Any]], jobs: Iterable[Row[Any]]
) -> list[str | None]:
    """Every contact this request's rows hold, as written there."""
    found: list[str | None] = [
        request.reporter_name,
        request.reporter_phone,
        request.reporter_email,
        request.reporter_address,
    ]
    for row in messages:
        found.append(row.sender)
        data: Mapping[str, Any] = row.message or {}
        declared: Mapping[str, Any] = data.get("declared") or {}
        found += [data.get("sender"), data.get("sender_name")]
        found += [declared.get("name"), declared.get("email"), declared.get("phone")]
    found += [str(j.payload.get("to") or "") for j in jobs if j.kind == "notify"]
    return found


def _purged_request(request: Row[Any], pattern: Any) -> dict[str, Any]:
    return {
        "reporter_name": None,
        "reporter_phone": None,
        "reporter_email": None,
        "reporter_address": None,
        "original_text": "",
        "description": redact_text(request.description, pattern),
        "attributes": redact_value(request.attributes or {}, pattern),
    }


def _job_of(job: Row[Any]) -> dict[str, Any]:
    return {"payload": job.payload, "last_error": job.last_error, "state": job.state}


def _purged_job(job: Row[Any], pattern: Any) -> dict[str, Any]:
    """A job without contacts: a notification keeps its channel and purpose only, and one that
    was never sent is dead, since there is no one left to send it to."""
    error = redact_text(job.last_error, pattern) if job.last_error else job.last_error
    if job.kind != "notify":
        return {"payload": job.payload, "last_error": error, "state": job.state}
    payload = dict(job.payload)
    payload |= {"to": "", "body": "", "subject": None, "thread": {}}
    if job.state in _WAITING:
        return {"payload": payload, "last_error": "contact details purged", "state": "dead"}
    return {"payload": payload, "last_error": error, "state": job.state}
