"""Telling residents: a template from the config, in their language, queued for their channel.

Every message to a resident (a confirmation, a follow-up question, a status change) goes through
``enqueue_reply`` in the same transaction as the change it reports, and leaves through the outbox,
so a provider outage delays it but loses none. Anonymous reporters are never contacted.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

import channels
from gateway.config.settings import Settings
from gateway.outbox import jobs
from gateway.records import NO_REPLY, ChatPlace, InboundMessage, Notification, ServiceRequest
from gateway.store.codec import notification_to_json
from gateway.store.received import original_message

log = logging.getLogger(__name__)


def reply_notifier(channel: str, address: str) -> str | None:
    """The notifier that answers ``address``, a resident who wrote on ``channel``."""
    cls = channels.load_all().get(channel)
    return cls.notifier_for(address) if cls is not None else None


def render(settings: Settings, request: ServiceRequest, template: str, **values: object) -> str:
    """``template`` in the reporter's language, filled with the request's common values."""
    return settings.message(
        template,
        request.reporter.language,
        city=settings.city_name,
        tracking_number=request.tracking_number,
        service=request.service_name or "",
        **values,
    )


def reply_to(
    settings: Settings, request: ServiceRequest, purpose: str, template: str, **values: object
) -> Notification | None:
    """The message for the reporter of ``request``, or None when they must not be contacted."""
    reporter = request.reporter
    notifier = reply_notifier(request.channel, reporter.address or "")
    if reporter.anonymous or not reporter.address or notifier is None:
        return None
    return Notification(
        channel=notifier,
        to=reporter.address,
        body=render(settings, request, template, **values),
        purpose=purpose,
        request_id=request.id,
        # An email reply threads under the resident's own message.
        thread={"in_reply_to": request.channel_message_id},
    )


async def enqueue_reply(
    conn: AsyncConnection,
    settings: Settings,
    request: ServiceRequest,
    purpose: str,
    template: str,
    *,
    key: str,
    offer: Sequence[tuple[str, str]] = (),
    **values: object,
) -> bool:
    """Queue a reply in the caller's transaction; ``key`` makes it once-only. True if queued.

    ``offer``: the (service code, name) choices a question offers, for buttons where the
    channel has them."""
    note = reply_to(settings, request, purpose, template, **values)
    if note is None:
        return False
    mail = note.channel == "email"
    original = await original_message(conn, request.channel, request.channel_message_id)
    if mail and original is not None and original.extra.get(NO_REPLY):
        # No backscatter: the From may be forged (or is no person's); staff see the report.
        log.info(
            "reply.suppressed",
            extra={"request_id": request.id, "reason": original.extra[NO_REPLY]},
        )
        return False
    thread = {**note.thread, **_thread(request, original, mail=mail)}
    note = dataclasses.replace(note, thread=thread, choices=tuple(offer))
    await enqueue_notification(conn, note, key=f"{purpose}-{request.id}-{key}")
    return True


def _thread(
    request: ServiceRequest, original: InboundMessage | None, *, mail: bool
) -> dict[str, str]:
    """What a reply needs to join the resident's own thread, read from their original message:
    an email's subject and references (for an email reply only), a chat message's conversation
    and thread (a text has neither)."""
    thread = {"tracking_number": request.tracking_number, "language": request.reporter.language}
    if original is None:
        return thread
    if original.chat is not None:
        thread |= chat_thread(original.chat)
    if not mail:
        return thread
    if original.subject:
        thread["subject"] = original.subject
    if original.thread is not None and original.thread.references:
        thread["references"] = " ".join(original.thread.references)
    return thread


def chat_thread(place: ChatPlace) -> dict[str, str]:
    """Where an answer to a chat message goes: its conversation, in its thread."""
    thread = {"conversation": place.conversation}
    if place.thread:
        thread["thread_ts"] = place.thread
    return thread


async def enqueue_notification(conn: AsyncConnection, note: Notification, *, key: str) -> None:
    """Queue any notification (one with no request, too) under a once-only key."""
    job = jobs.NewJob(
        kind=jobs.NOTIFY,
        target=note.channel,
        key=f"notify-{note.channel}-{key}",
        request_id=note.request_id,
        payload=notification_to_json(note),
    )
    await jobs.enqueue(conn, [job], now=datetime.now(UTC))
