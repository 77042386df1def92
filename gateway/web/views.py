"""Read-only views of service requests: for the Open311 GET, the status page and the history.

Never a reporter's contact: the pages and the API show what the city knows of the problem, its
status and the city's notes (``status_changed`` events' ``detail.note``), nothing of who wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records import ServiceRequest, Status
from gateway.store.request_views import (
    Note,
    RequestFilter,
    find_requests,
    requests_by_contact,
    status_notes,
)
from gateway.store.requests import get_by_tracking_number


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


async def with_notes(
    conn: AsyncConnection, requests: Sequence[ServiceRequest]
) -> list[RequestView]:
    """Each of ``requests`` with its notes."""
    notes = await status_notes(conn, [r.id for r in requests])
    return [RequestView(r, tuple(notes.get(r.id, ()))) for r in requests]


async def by_tracking_number(conn: AsyncConnection, number: str) -> RequestView | None:
    """The request with this tracking number, or None."""
    request = await get_by_tracking_number(conn, number)
    return None if request is None else (await with_notes(conn, [request]))[0]


async def by_contact(conn: AsyncConnection, contact: str, limit: int = 200) -> list[RequestView]:
    """Every request whose reporter had this normalized email or E.164 phone, newest first."""
    return await with_notes(conn, await requests_by_contact(conn, contact, limit))


async def matching(
    conn: AsyncConnection, wanted: RequestFilter, limit: int, offset: int
) -> list[RequestView]:
    """The requests an Open311 ``GET requests`` asks for, newest first, each with its notes."""
    return await with_notes(conn, await find_requests(conn, wanted, limit, offset))
