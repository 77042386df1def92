"""Messages that are not reports: carrier commands and providers' delivery receipts.

STOP / START record the resident's choice for every later message (Twilio confirms them itself);
HELP was answered in the acknowledgement; STATUS is answered through the outbox. A delivery
receipt lands on the history of the request its message belonged to, and a number the provider
reports as unsubscribed or unreachable is not messaged again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.log import mask_address
from gateway.outbox.jobs import NOTIFY
from gateway.records import InboundMessage, Notification, ServiceRequest
from gateway.replies import enqueue_notification, reply_notifier
from gateway.settings import Settings
from gateway.store import contacts, requests
from gateway.store.schema import outbox
from normalizer.commands import Command

log = logging.getLogger(__name__)

# Twilio error codes after which a number is not worth messaging again: unsubscribed (21610),
# unknown or unreachable destination (30003, 30005), landline or unreachable carrier (30006).
# https://www.twilio.com/docs/api/errors
UNREACHABLE = {"21610", "30003", "30005", "30006"}


async def run_command(
    conn: AsyncConnection, settings: Settings, message: InboundMessage, command: Command
) -> str | None:
    """Carry out ``command``; the id of the request it concerned, if any."""
    notifier = reply_notifier(message.channel, message.sender)
    if notifier is None:
        return None
    if command.kind == "stop":
        await contacts.opt_out(conn, notifier, message.sender, "stop")
        log.info("conversation.opted_out", extra={"address": mask_address(message.sender)})
    elif command.kind == "start":
        await contacts.opt_in(conn, notifier, message.sender)
    elif command.kind == "status":
        return await _answer_status(conn, settings, message, notifier, command.argument)
    return None


async def _answer_status(
    conn: AsyncConnection,
    settings: Settings,
    message: InboundMessage,
    notifier: str,
    number: str | None,
) -> str | None:
    if number:
        request = await requests.get_by_tracking_number(conn, number)
    else:
        request = await requests.latest_for(conn, message.sender)
    body = _status_text(settings, request) if request else settings.message("status_unknown")
    note = Notification(
        channel=notifier,
        to=message.sender,
        body=body,
        purpose="status",
        request_id=request.id if request else None,
    )
    # One answer per STATUS message, however often its webhook is retried.
    await enqueue_notification(conn, note, key=f"status-{message.provider_id}")
    return request.id if request else None


def _status_text(settings: Settings, request: ServiceRequest) -> str:
    language = request.reporter.language
    return settings.message(
        "status_reply",
        language,
        tracking_number=request.tracking_number,
        status=settings.message(f"status_{request.status.value}", language),
        note="",
    )


async def record_receipt(conn: AsyncConnection, message: InboundMessage) -> str | None:
    """File a provider's delivery report on the request its message belonged to."""
    sid = message.extra.get("MessageSid", "")
    query = select(outbox.c.request_id, outbox.c.target).where(
        outbox.c.kind == NOTIFY, outbox.c.remote_id == sid
    )
    job = (await conn.execute(query)).first()
    status = message.extra.get("MessageStatus", "")
    error = message.extra.get("ErrorCode", "")
    if job is not None and error in UNREACHABLE and status in ("failed", "undelivered"):
        await contacts.opt_out(conn, job.target, message.sender, f"twilio {error}")
        log.info(
            "conversation.unreachable",
            extra={"address": mask_address(message.sender), "error": error},
        )
    if job is None or job.request_id is None:
        return None
    detail = {
        "provider_id": sid,
        "status": status,
        "error_code": error or None,
        "at": datetime.now(UTC).isoformat(),
    }
    await requests.add_event(conn, job.request_id, "message_status", detail=detail)
    return str(job.request_id)
