"""Service requests and their event history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records import (
    Flags,
    Location,
    Media,
    OpenRequest,
    Reporter,
    ServiceRequest,
    Status,
)
from gateway.store.schema import request_events, service_requests

_OPEN_STATES = [s.value for s in Status if s is not Status.CLOSED]


async def insert_request(conn: AsyncConnection, request: ServiceRequest) -> None:
    """Store a new service request."""
    await insert_requests(conn, [request])


async def insert_requests(conn: AsyncConnection, batch: Sequence[ServiceRequest]) -> None:
    """Store new service requests in one statement."""
    if batch:
        await conn.execute(insert(service_requests), [_to_row(r) for r in batch])


async def get_request(conn: AsyncConnection, request_id: str) -> ServiceRequest | None:
    """The request with gateway id ``request_id``."""
    row = (
        await conn.execute(select(service_requests).where(service_requests.c.id == request_id))
    ).first()
    return None if row is None else from_row(row)


async def get_by_tracking_number(conn: AsyncConnection, number: str) -> ServiceRequest | None:
    """The request with tracking number ``number`` (case-insensitive)."""
    query = select(service_requests).where(service_requests.c.tracking_number == number.upper())
    row = (await conn.execute(query)).first()
    return None if row is None else from_row(row)


async def id_by_tracking_number(conn: AsyncConnection, number: str) -> str | None:
    """The gateway id of the request with tracking number ``number``."""
    query = select(service_requests.c.id).where(service_requests.c.tracking_number == number)
    found = (await conn.execute(query)).scalar_one_or_none()
    return str(found) if found is not None else None


async def id_by_channel_message(
    conn: AsyncConnection, channel: str, message_ids: Sequence[str]
) -> str | None:
    """The gateway id of the request that one of ``message_ids`` (provider ids) made on
    ``channel``: the post an X conversation started with, say."""
    c = service_requests.c
    query = (
        select(c.id)
        .where(c.channel == channel, c.channel_message_id.in_(list(message_ids)))
        .order_by(c.received_at)
        .limit(1)
    )
    found = (await conn.execute(query)).scalar_one_or_none()
    return str(found) if found is not None else None


async def get_by_case_id(conn: AsyncConnection, case_id: str) -> ServiceRequest | None:
    """The request the case system knows as ``case_id``."""
    query = select(service_requests).where(service_requests.c.case_id == case_id)
    row = (await conn.execute(query)).first()
    return None if row is None else from_row(row)


async def add_event(
    conn: AsyncConnection,
    request_id: str,
    kind: str,
    *,
    status: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append to the request's history."""
    await add_events(conn, [event_row(request_id, kind, status=status, detail=detail)])


def event_row(
    request_id: str,
    kind: str,
    *,
    status: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One history entry, for ``add_events``."""
    return {
        "request_id": request_id,
        "at": datetime.now(UTC),
        "kind": kind,
        "status": status,
        "detail": dict(detail or {}),
    }


async def add_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Append several history entries in one statement."""
    if rows:
        await conn.execute(insert(request_events), list(rows))


async def events(conn: AsyncConnection, request_id: str) -> list[dict[str, Any]]:
    """The request's history, oldest first."""
    query = (
        select(request_events)
        .where(request_events.c.request_id == request_id)
        .order_by(request_events.c.id)
    )
    return [dict(r._mapping) for r in await conn.execute(query)]


async def record_case(
    conn: AsyncConnection, request_id: str, *, case_id: str | None, token: str | None
) -> None:
    """Remember the case system's id (or its token) and mark the request submitted."""
    values: dict[str, Any] = {"status": Status.SUBMITTED.value, "updated_at": datetime.now(UTC)}
    if case_id:
        values["case_id"] = case_id
    if token:
        values["case_token"] = token
    await conn.execute(
        update(service_requests).where(service_requests.c.id == request_id).values(**values)
    )


async def update_request(conn: AsyncConnection, request: ServiceRequest) -> None:
    """Write back what a conversation changed: service, place, media, flags, status."""
    row = _to_row(request)
    keep = {"id", "tracking_number", "channel", "channel_message_id", "received_at", "case_id"}
    values = {k: v for k, v in row.items() if k not in keep}
    values["updated_at"] = datetime.now(UTC)
    await conn.execute(
        update(service_requests).where(service_requests.c.id == request.id).values(**values)
    )


async def latest_for(conn: AsyncConnection, address: str) -> ServiceRequest | None:
    """The newest request whose reporter writes from ``address``."""
    c = service_requests.c
    query = (
        select(service_requests)
        .where(c.reporter_address == address)
        .order_by(c.received_at.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else from_row(row)


async def set_status(conn: AsyncConnection, request_id: str, status: str) -> None:
    """Change the request's status."""
    await conn.execute(
        update(service_requests)
        .where(service_requests.c.id == request_id)
        .values(status=status, updated_at=datetime.now(UTC))
    )


async def open_requests(conn: AsyncConnection, since: datetime) -> list[OpenRequest]:
    """Requests still open, received since ``since``, that have a place: duplicate candidates."""
    c = service_requests.c
    query = select(c.tracking_number, c.service_code, c.lat, c.long, c.received_at).where(
        c.status.in_(_OPEN_STATES), c.received_at >= since, c.lat.is_not(None), c.long.is_not(None)
    )
    return [
        OpenRequest(r.tracking_number, r.service_code, r.lat, r.long, r.received_at)
        for r in await conn.execute(query)
    ]


def _to_row(r: ServiceRequest) -> dict[str, Any]:
    loc = r.location or Location()
    rep = r.reporter
    return {
        "id": r.id,
        "tracking_number": r.tracking_number,
        "channel": r.channel,
        "channel_message_id": r.channel_message_id,
        "received_at": r.received_at,
        "updated_at": r.updated_at or r.received_at,
        "reporter_name": rep.name,
        "reporter_phone": rep.phone,
        "reporter_email": rep.email,
        "reporter_address": rep.address,
        "anonymous": rep.anonymous,
        "language": rep.language,
        "description": r.description,
        "original_text": r.original_text,
        "service_code": r.service_code,
        "service_name": r.service_name,
        "service_confidence": r.service_confidence,
        "attributes": dict(r.attributes),
        "lat": loc.lat,
        "long": loc.long,
        "address": loc.address,
        "zipcode": loc.zipcode,
        "location_source": loc.source if r.location else None,
        "location_confidence": loc.confidence if r.location else None,
        "media": [_media_json(m) for m in r.media],
        "emergency": r.flags.emergency,
        "duplicate_of": r.flags.possible_duplicate_of,
        "needs_follow_up": list(r.flags.needs_follow_up),
        "status": r.status.value,
        "case_id": r.case_id,
    }


def _media_json(m: Media) -> dict[str, Any]:
    return {
        "content_type": m.content_type,
        "url": m.url,
        "path": m.path,
        "size": m.size,
        "sha256": m.sha256,
    }


def from_row(row: Row[Any]) -> ServiceRequest:
    """The record a ``service_requests`` row holds."""
    m = row._mapping
    has_place = m["lat"] is not None or m["address"] is not None
    return ServiceRequest(
        id=m["id"],
        tracking_number=m["tracking_number"],
        channel=m["channel"],
        channel_message_id=m["channel_message_id"],
        received_at=m["received_at"],
        updated_at=m["updated_at"],
        reporter=Reporter(
            name=m["reporter_name"],
            phone=m["reporter_phone"],
            email=m["reporter_email"],
            address=m["reporter_address"],
            anonymous=m["anonymous"],
            language=m["language"],
        ),
        description=m["description"],
        original_text=m["original_text"],
        service_code=m["service_code"],
        service_name=m["service_name"],
        service_confidence=m["service_confidence"],
        attributes=m["attributes"] or {},
        location=Location(
            lat=m["lat"],
            long=m["long"],
            address=m["address"],
            zipcode=m["zipcode"],
            source=m["location_source"] or "unknown",
            confidence=m["location_confidence"] or 0.0,
        )
        if has_place
        else None,
        media=tuple(Media(**x) for x in m["media"] or []),
        flags=Flags(
            emergency=m["emergency"],
            possible_duplicate_of=m["duplicate_of"],
            needs_follow_up=tuple(m["needs_follow_up"] or ()),
        ),
        status=Status(m["status"]),
        case_id=m["case_id"],
    )
