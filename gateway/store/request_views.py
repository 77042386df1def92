"""Read-only look-ups behind the public request views: the status page, a resident's history and
the Open311 GET side. ``gateway.web.views`` decides what of each request they show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records import ServiceRequest, Status
from gateway.store.requests import from_row
from gateway.store.schema import inbound_messages, request_events, service_requests


@dataclass(frozen=True, slots=True)
class Note:
    """The city's note on a status change."""

    at: datetime
    status: str | None
    text: str


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """Which requests an Open311 ``GET requests`` asks for; tracking numbers override the rest."""

    tracking_numbers: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    service_codes: tuple[str, ...] = ()
    # True: closed only; False: open (anything not closed) only; None: both.
    closed: bool | None = None


async def find_requests(
    conn: AsyncConnection, wanted: RequestFilter, limit: int, offset: int
) -> list[ServiceRequest]:
    """The requests ``wanted`` selects, newest first, ``limit`` of them after ``offset``."""
    c = service_requests.c
    # Newest first, the id breaking ties, so that pages neither repeat nor skip a request.
    query = _filtered(wanted).order_by(c.received_at.desc(), c.id.desc())
    rows = await conn.execute(query.limit(limit).offset(offset))
    return [from_row(row) for row in rows]


async def requests_by_contact(
    conn: AsyncConnection, contact: str, limit: int
) -> list[ServiceRequest]:
    """Requests whose reporter had this normalized email or E.164 phone, newest first."""
    c = service_requests.c
    column = c.reporter_email if "@" in contact else c.reporter_phone
    query = select(service_requests).where(column == contact).order_by(c.received_at.desc())
    return [from_row(row) for row in await conn.execute(query.limit(limit))]


async def status_notes(conn: AsyncConnection, request_ids: Sequence[str]) -> dict[str, list[Note]]:
    """Each request's notes (``status_changed`` events' ``detail.note``), oldest first."""
    if not request_ids:
        return {}
    e = request_events.c
    query = (
        select(e.request_id, e.at, e.status, e.detail)
        .where(e.request_id.in_(list(request_ids)), e.kind == "status_changed")
        .order_by(e.id)
    )
    notes: dict[str, list[Note]] = {}
    for row in await conn.execute(query):
        text = (row.detail or {}).get("note")
        if text:
            notes.setdefault(row.request_id, []).append(Note(row.at, row.status, str(text)))
    return notes


async def inbound_id_for(conn: AsyncConnection, channel: str, provider_id: str) -> int | None:
    """The id of the message ``channel`` stored under ``provider_id``, or None."""
    c = inbound_messages.c
    query = select(c.id).where(c.channel == channel, c.provider_id == provider_id)
    found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else int(found)


def _filtered(wanted: RequestFilter) -> Select[Any]:
    c = service_requests.c
    query = select(service_requests)
    if wanted.tracking_numbers:
        return query.where(c.tracking_number.in_([n.upper() for n in wanted.tracking_numbers]))
    if wanted.start is not None:
        query = query.where(c.received_at >= wanted.start)
    if wanted.end is not None:
        query = query.where(c.received_at <= wanted.end)
    if wanted.service_codes:
        query = query.where(c.service_code.in_(list(wanted.service_codes)))
    if wanted.closed is True:
        query = query.where(c.status == Status.CLOSED.value)
    elif wanted.closed is False:
        query = query.where(c.status != Status.CLOSED.value)
    return query
