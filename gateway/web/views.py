"""Read-only views of service requests: for the Open311 GET, the status page and the history.

Never a reporter's contact: the pages and the API show what the city knows of the problem, its
status and the city's notes (``status_changed`` events' ``detail.note``), nothing of who wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records import ServiceRequest, Status
from gateway.store.requests import from_row
from gateway.store.schema import request_events, service_requests


@dataclass(frozen=True, slots=True)
class Note:
    at: datetime
    status: str | None
    text: str


@dataclass(frozen=True, slots=True)
class RequestView:
    request: ServiceRequest
    notes: tuple[Note, ...]

    @property
    def open311_status(self) -> str:
        """Open311 knows two states: closed, and everything else open."""
        return "closed" if self.request.status is Status.CLOSED else "open"

    @property
    def latest_note(self) -> str | None:
        return self.notes[-1].text if self.notes else None


async def load_views(conn: AsyncConnection, query: Select[Any]) -> list[RequestView]:
    """The requests ``query`` selects (rows of ``service_requests``), each with its notes."""
    requests = [from_row(row) for row in await conn.execute(query)]
    notes = await _notes(conn, [r.id for r in requests])
    return [RequestView(r, tuple(notes.get(r.id, ()))) for r in requests]


async def by_tracking_number(conn: AsyncConnection, number: str) -> RequestView | None:
    """The request with this tracking number, or None."""
    query = select(service_requests).where(service_requests.c.tracking_number == number.upper())
    found = await load_views(conn, query)
    return found[0] if found else None


async def by_contact(conn: AsyncConnection, contact: str, limit: int = 200) -> list[RequestView]:
    """Every request whose reporter had this normalized email or E.164 phone, newest first."""
    c = service_requests.c
    column = c.reporter_email if "@" in contact else c.reporter_phone
    query = select(service_requests).where(column == contact).order_by(c.received_at.desc())
    return await load_views(conn, query.limit(limit))


async def _notes(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[Note]]:
    if not ids:
        return {}
    e = request_events.c
    query = (
        select(e.request_id, e.at, e.status, e.detail)
        .where(e.request_id.in_(list(ids)), e.kind == "status_changed")
        .order_by(e.id)
    )
    notes: dict[str, list[Note]] = {}
    for row in await conn.execute(query):
        text = (row.detail or {}).get("note")
        if text:
            notes.setdefault(row.request_id, []).append(Note(row.at, row.status, str(text)))
    return notes
