"""Retention of what belongs to no request, and of raw payloads.

- A stored message whose work is done and that made no request (STOP, START, HELP, a provider's
  delivery receipt, an auto-reply, one staff dismissed) loses its sender, raw bytes, headers and
  parsed message after the contact cut-off, counted from receipt.
- So does one that came after its closed request was purged (``STATUS`` with its number), and a
  notification sent about it: the request's purge, done once, did not see them.
- A notification that belongs to no request (a one-time history link or code) loses its
  address, body, subject and thread after the contact cut-off, counted from its last change;
  one never sent by then (its notifier off all that time) is dead: its code has long expired.
- A stored message's raw bytes and headers go after the raw cut-off, counted from receipt, once
  its work is done and its request is closed or it made none: an open request keeps them (an
  email's photos live only in its raw message, and staff may need to parse it again).
- Messages still waiting for work (received, unparsed, failed) are never touched: nothing
  acknowledged is dropped.

Opt-outs (``opt_outs``) are never purged: a STOP is the resident's standing instruction, which
carrier rules require honouring until they send START, and it can only be honoured by knowing the
address. The row holds the channel, the address, when and why, and links to no request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records import Status
from gateway.redaction import redact_text
from gateway.store.inbound import DISMISSED, PROCESSED, REPARSED
from gateway.store.retention import PURGED, blank_message
from gateway.store.schema import inbound_messages, outbox, request_events, service_requests

# A message in one of these states needs no more work ("auto": sent by a machine, set aside).
FINISHED = (PROCESSED, "auto", REPARSED, DISMISSED)


def _of_no_request(request_id: Any) -> Any:
    """Rows of no request, or of a closed request whose contacts were purged already."""
    r, e = service_requests.c, request_events.c
    purged = select(e.request_id).where(e.kind == PURGED)
    closed = select(r.id).where(r.status == Status.CLOSED.value, r.id.in_(purged))
    return or_(request_id.is_(None), request_id.in_(closed))


async def spent_messages(
    conn: AsyncConnection, before: datetime, *, after: int = 0, limit: int = 200, apply: bool
) -> list[int]:
    """Messages of no request received before ``before`` that still hold a sender or a raw
    payload, by id after ``after``; blanked when ``apply``. Their ids."""
    c = inbound_messages.c
    query = (
        select(c.id, c.channel, c.provider_id, c.dismissed_reason)
        .where(_of_no_request(c.request_id), c.state.in_(FINISHED), c.received_at < before)
        .where(c.id > after, or_(c.sender != "", func.length(c.raw_body) > 0))
        .order_by(c.id)
        .limit(limit)
    )
    rows = list(await conn.execute(query))
    if apply and rows:
        statement = (
            update(inbound_messages)
            .where(inbound_messages.c.id == bindparam("b_id"))
            .values(
                sender=bindparam("b_sender"),
                raw_body=bindparam("b_raw"),
                headers=bindparam("b_headers"),
                message=bindparam("b_message"),
                dismissed_reason=bindparam("b_reason"),
            )
        )
        await conn.execute(statement, [_blank_row(row) for row in rows])
    return [row.id for row in rows]


def _blank_row(row: Any) -> dict[str, Any]:
    blank = blank_message(row.channel, row.provider_id)
    reason = redact_text(row.dismissed_reason, None) if row.dismissed_reason else None
    return {
        "b_id": row.id,
        "b_sender": blank["sender"],
        "b_raw": blank["raw_body"],
        "b_headers": blank["headers"],
        "b_message": blank["message"],
        "b_reason": reason,
    }


async def spent_notifications(
    conn: AsyncConnection, before: datetime, *, after: int = 0, limit: int = 200, apply: bool
) -> list[int]:
    """Notifications of no request, not in flight, last changed before ``before``, that still
    name their recipient, by id after ``after``; blanked (and dead, if unsent) when ``apply``.
    Their ids."""
    c = outbox.c
    query = (
        select(c.id, c.payload, c.state, c.last_error)
        .where(c.kind == "notify", _of_no_request(c.request_id), c.state != "in_flight")
        .where(c.updated_at < before, c.id > after, c.payload["to"].as_string() != "")
        .order_by(c.id)
        .limit(limit)
    )
    rows = list(await conn.execute(query))
    if apply and rows:
        statement = (
            update(outbox)
            .where(outbox.c.id == bindparam("b_id"))
            .values(
                payload=bindparam("b_payload"),
                state=bindparam("b_state"),
                last_error=bindparam("b_error"),
            )
        )
        await conn.execute(statement, [_blank_job(row) for row in rows])
    return [row.id for row in rows]


def _blank_job(row: Any) -> dict[str, Any]:
    blank: dict[str, Any] = {"to": "", "body": "", "subject": None, "thread": {}}
    unsent = row.state == "pending"
    return {
        "b_id": row.id,
        "b_payload": {**row.payload, **blank},
        "b_state": "dead" if unsent else row.state,
        "b_error": "contact details purged" if unsent else row.last_error,
    }


def _raw_kept(before: datetime) -> Any:
    """Messages whose raw payload may go: finished, received before ``before``, still holding
    their bytes, and of a closed request or of none."""
    c, r = inbound_messages.c, service_requests.c
    closed = select(r.id).where(r.status == Status.CLOSED.value)
    return (
        select(c.id)
        .where(c.state.in_(FINISHED), c.received_at < before, func.length(c.raw_body) > 0)
        .where(or_(c.request_id.is_(None), c.request_id.in_(closed)))
    )


async def count_raw(conn: AsyncConnection, before: datetime) -> int:
    """How many raw payloads ``drop_raw`` would drop."""
    query = select(func.count()).select_from(_raw_kept(before).subquery())
    return int((await conn.execute(query)).scalar_one())


async def drop_raw(conn: AsyncConnection, before: datetime, *, limit: int = 500) -> int:
    """Blank up to ``limit`` raw payloads (body and headers) that may go; how many were."""
    chosen = _raw_kept(before).order_by(inbound_messages.c.id).limit(limit)
    # A subquery of its own: SQLite and PostgreSQL both take a LIMIT inside IN that way.
    ids = select(chosen.subquery().c.id)
    statement = (
        update(inbound_messages)
        .where(inbound_messages.c.id.in_(ids))
        .values(raw_body=b"", headers={})
    )
    return int((await conn.execute(statement)).rowcount)
