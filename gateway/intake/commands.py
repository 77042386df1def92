"""Messages that are not reports: carrier commands and providers' delivery receipts.

STOP / START record the resident's choice for every later message (Twilio confirms them itself);
HELP was answered in the acknowledgement; STATUS is answered through the outbox. A delivery
receipt lands on the history of the request its message belonged to, and a number the provider
reports as unsubscribed or unreachable is not messaged again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config.settings import Settings
from gateway.log import mask_address
from gateway.outbox import jobs
from gateway.outbox.replies import chat_thread, enqueue_notification, reply_notifier
from gateway.records import InboundMessage, Notification, ServiceRequest
from gateway.store import contacts, requests
from normalizer.commands import Command

log = logging.getLogger(__name__)


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
        # In a chat, the answer joins the thread the question was asked in.
        thread=chat_thread(message.chat) if message.chat is not None else {},
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
    receipt = message.receipt
    if receipt is None:
        return None
    sent = await jobs.sent_message(conn, receipt.message_id)
    if sent is not None and receipt.unreachable:
        await contacts.opt_out(
            conn, sent.target, message.sender, f"{message.channel} {receipt.error_code}"
        )
        log.info(
            "conversation.unreachable",
            extra={"address": mask_address(message.sender), "error": receipt.error_code},
        )
    if sent is None or sent.request_id is None:
        return None
    detail = {
        "provider_id": receipt.message_id,
        "status": receipt.status,
        "error_code": receipt.error_code or None,
        "at": datetime.now(UTC).isoformat(),
    }
    await requests.add_event(conn, sent.request_id, "message_status", detail=detail)
    return str(sent.request_id)
