"""A phone call's webhooks after the ack: steps file nothing; a late recording or transcript is
attached to the request the call made.

The call flow (``gateway.voice``) files one report per call. Its recording and transcript come
on callbacks of their own, often after the caller hung up: one that came while the call was open
is in the report already; one that came later is added here, however late, once the report is a
request. Adding is idempotent: the same recording or words are never added twice.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.intake.fetches import media_fetches
from gateway.outbox import jobs
from gateway.records import CallStep, InboundMessage, ServiceRequest
from gateway.store import requests, voice_calls
from gateway.store.inbound import PROCESSED, RECEIVED

TRANSCRIPT_HEADING = "Recorded description (transcript):"


async def settle_step(
    conn: AsyncConnection, message: InboundMessage, step: CallStep, inbound_id: int
) -> tuple[str | None, str]:
    """The request a call step concerned, and the state its message is kept in."""
    if step.event not in ("recording", "transcription") or not (message.media or message.text):
        return None, PROCESSED
    request = await voice_calls.request_for_call(conn, message.channel, step.call_id)
    if request is None:
        # Stored but not yet a request (a neighbour in this batch): taken again next round.
        waiting = await voice_calls.report_waiting(conn, message.channel, step.call_id)
        return None, RECEIVED if waiting else PROCESSED
    await _attach(conn, request, message, inbound_id)
    return request.id, PROCESSED


async def _attach(
    conn: AsyncConnection, request: ServiceRequest, message: InboundMessage, inbound_id: int
) -> None:
    known = {m.url for m in request.media}
    media = tuple(m for m in message.media if m.url not in known)
    text = message.text.strip()
    description = request.description
    if text and text not in description:
        description = f"{description}\n\n{TRANSCRIPT_HEADING} {text}".strip()
    if not media and description == request.description:
        return
    updated = dataclasses.replace(request, media=request.media + media, description=description)
    await requests.update_request(conn, updated)
    detail = {"inbound_id": inbound_id, "text": text[:2000], "media": [m.url for m in media]}
    await requests.add_event(conn, request.id, "call_attachment", detail=detail)
    if media:
        fetches = media_fetches(updated, first=len(request.media))
        await jobs.enqueue(conn, fetches, now=datetime.now(UTC))
