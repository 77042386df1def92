"""Messages flagged for staff: a failed one sent back to the intake, a failed or unparsed one
set aside (dismissed) with who, why and when. Nothing is deleted; every change is conditional on
the state staff saw, so two people acting at once cannot both win."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.inbound import DISMISSED, FAILED, PROCESSED, RECEIVED, UNPARSED
from gateway.store.requests import id_by_tracking_number
from gateway.store.schema import inbound_messages
from gateway.store.series import series_or_default
from gateway.tracking import tracking_number_for

DISMISSABLE = (FAILED, UNPARSED)


@dataclass(frozen=True, slots=True)
class Retaken:
    """A failed message given back: to the intake, or linked to the request it had made."""

    inbound_id: int
    # The tracking number of the request the message had made after all, when there is one.
    filed_as: str | None


@dataclass(frozen=True, slots=True)
class Dismissal:
    """Who set a message aside, why and when."""

    by: str
    reason: str
    at: datetime


async def retake_failed(conn: AsyncConnection, inbound_id: int, now: datetime) -> Retaken | None:
    """Send failed message ``inbound_id`` back to ``received``; None when it is not failed.

    A message can fail after its request was made: two workers took it, one filed it and the
    other failed on its tracking number. Such a message is linked to that request and marked
    processed instead, so taking it again never files it twice.
    """
    number = tracking_number_for(inbound_id, await series_or_default(conn))
    request_id = await id_by_tracking_number(conn, number)
    c = inbound_messages.c
    changed = update(inbound_messages).where(c.id == inbound_id, c.state == FAILED)
    if request_id is not None:
        changed = changed.values(state=PROCESSED, request_id=request_id, error=None)
        changed = changed.values(processed_at=now)
    else:
        # The last failure's reason stays until the intake settles the message again.
        changed = changed.values(state=RECEIVED, request_id=None, processed_at=None)
    if (await conn.execute(changed)).rowcount != 1:
        return None
    return Retaken(inbound_id, number if request_id is not None else None)


async def dismiss(
    conn: AsyncConnection, inbound_id: int, *, by: str, reason: str, now: datetime
) -> bool:
    """Set failed or unparsed message ``inbound_id`` aside; False when it is neither."""
    c = inbound_messages.c
    changed = (
        update(inbound_messages)
        .where(c.id == inbound_id, c.state.in_(DISMISSABLE))
        .values(state=DISMISSED, dismissed_by=by[:120], dismissed_reason=reason[:2000])
        .values(dismissed_at=now)
    )
    return bool((await conn.execute(changed)).rowcount == 1)


async def dismissal(conn: AsyncConnection, inbound_id: int) -> Dismissal | None:
    """Who dismissed message ``inbound_id``, why and when; None when it is not dismissed."""
    c = inbound_messages.c
    query = select(c.dismissed_by, c.dismissed_reason, c.dismissed_at).where(
        c.id == inbound_id, c.state == DISMISSED
    )
    row = (await conn.execute(query)).first()
    if row is None or row.dismissed_at is None:
        return None
    return Dismissal(row.dismissed_by or "", row.dismissed_reason or "", row.dismissed_at)
