"""Chat messages that change another: an edit, a deletion, a button pressed.

An edit of a report the case system does not have yet (received, awaiting information,
accepted) updates its words, and answers a waiting "where is it?" when the new words give a
place; an edit of a report already filed is kept on its history for staff, as is a deletion. A
pressed button answers the question it came with (``gateway.intake.followup``), as a number does
by SMS; a button of a question no longer waiting changes nothing and is noted.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.intake.followup import FollowUps
from gateway.records import InboundMessage, NormalizedReport, OpenRequest, ServiceRequest, Status
from gateway.store import conversations, requests
from gateway.store.received import request_of_message

log = logging.getLogger(__name__)

Normalize = Callable[[InboundMessage, Sequence[OpenRequest], datetime], Awaitable[NormalizedReport]]
# The case system has not seen these yet: what it will be sent can still change.
UNFILED = frozenset({Status.RECEIVED, Status.AWAITING_INFO, Status.ACCEPTED})


class ChatChanges:
    """Applies edits, deletions and button presses to the requests they concern."""

    def __init__(self, followups: FollowUps, normalize: Normalize) -> None:
        self.followups = followups
        self.normalize = normalize

    async def apply(
        self,
        conn: AsyncConnection,
        message: InboundMessage,
        inbound_id: int,
        open_now: Sequence[OpenRequest],
        now: datetime,
    ) -> str | None:
        """Act on ``message``; the id of the request it concerned, if any."""
        chat = message.chat
        if chat is None:
            return None
        if chat.change == "choice":
            return await self._choice(conn, message, now)
        request_id = await request_of_message(conn, message.channel, chat.parent_id)
        request = await requests.get_request(conn, request_id) if request_id else None
        if request is None:
            log.info("intake.chat_change_unmatched", extra={"inbound_id": inbound_id})
            return None
        detail = {"channel": message.channel, "inbound_id": inbound_id}
        if chat.change == "deleted":
            await requests.add_event(conn, request.id, "resident_deleted", detail=detail)
            return request.id
        await self._edited(conn, request, message, {**detail, "text": message.text[:2000]}, now)
        return request.id

    async def _edited(
        self,
        conn: AsyncConnection,
        request: ServiceRequest,
        message: InboundMessage,
        detail: dict[str, object],
        now: datetime,
    ) -> None:
        if request.status not in UNFILED:
            await requests.add_event(conn, request.id, "resident_edited", detail=detail)
            return
        report = await self.normalize(message, [], now)
        place = request.location if _placed(request) else report.location or request.location
        updated = dataclasses.replace(
            request,
            description=report.description,
            original_text=message.text,
            location=place,
            updated_at=now,
        )
        await requests.update_request(conn, updated)
        await requests.add_event(
            conn, request.id, "resident_edited", detail={**detail, "applied": True}
        )
        waiting = await conversations.waiting(conn, message.channel, message.sender, now)
        located = report.location
        if (
            waiting is not None
            and waiting.request_id == request.id
            and waiting.awaiting == "location"
            and located is not None
            and located.lat is not None
        ):
            await self.followups.answer(conn, waiting, message, located, now)

    async def _choice(
        self, conn: AsyncConnection, message: InboundMessage, now: datetime
    ) -> str | None:
        chat = message.chat
        number = chat.tracking_number if chat is not None else ""
        waiting = await conversations.waiting(conn, message.channel, message.sender, now)
        request_id = await requests.id_by_tracking_number(conn, number) if number else None
        if (
            waiting is not None
            and waiting.awaiting == "service"
            and (request_id is None or waiting.request_id == request_id)
        ):
            await self.followups.answer(conn, waiting, message, None, now)
            return waiting.request_id
        if request_id is not None:
            detail = {"channel": message.channel, "choice": message.declared.service_code}
            await requests.add_event(conn, request_id, "late_choice", detail=detail)
        return request_id


def _placed(request: ServiceRequest) -> bool:
    return request.location is not None and request.location.lat is not None
