"""Twilio message status callbacks: what became of the replies we sent.

Parameters: https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
(``MessageSid``, ``MessageStatus``, ``ErrorCode``); signed like every Twilio webhook. Each status
of each message is stored once and lands on the history of the request the reply belonged to.
"""

from __future__ import annotations

from collections.abc import Sequence

from channels import Ack, StoredMessage, WebhookRequest, register
from channels.twilio_sms import TwilioSigned
from gateway.errors import MalformedPayload
from gateway.records import DeliveryReceipt, InboundMessage

_FIELDS = ("To", "From", "RawDlrDoneDate")
# Error codes after which a number is not worth messaging again: unsubscribed (21610), unknown
# or unreachable destination (30003, 30005), landline or unreachable carrier (30006).
# https://www.twilio.com/docs/api/errors
UNREACHABLE = frozenset({"21610", "30003", "30005", "30006"})


@register
class TwilioStatus(TwilioSigned):
    name = "twilio_status"
    route = "/webhooks/twilio/status"
    kind = "receipt"

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        form = req.form
        sid, status = form.get("MessageSid"), form.get("MessageStatus")
        if not sid or not status:
            raise MalformedPayload("MessageSid and MessageStatus are required")
        error = form.get("ErrorCode", "")
        failed = status in ("failed", "undelivered")
        receipt = DeliveryReceipt(sid, status, error, unreachable=failed and error in UNREACHABLE)
        return [
            InboundMessage(
                channel=self.name,
                # Twilio reports each message several times (sent, delivered...): one row each.
                provider_id=f"{sid}:{status}",
                sender=form.get("To", ""),
                raw=req.body,
                receipt=receipt,
                extra={k: form[k] for k in _FIELDS if form.get(k)},
            )
        ]

    def acknowledge(self, req: WebhookRequest, stored: Sequence[StoredMessage]) -> Ack:
        return Ack("", content_type="text/plain", status=204)
