"""SendGrid Inbound Parse: mail for the city's parse domain, posted as ``multipart/form-data``.

Parameters (default and "Send Raw" modes):
https://www.twilio.com/docs/sendgrid/for-developers/parsing-email/setting-up-the-inbound-parse-webhook
Inbound Parse signs nothing by default; the endpoint is protected with HTTP basic auth in the
URL configured at SendGrid (``https://user:password@host/webhooks/email/sendgrid``).
"""

from __future__ import annotations

import hashlib

from channels import WebhookRequest, register
from channels._mail.headers import parse_headers_block
from channels._mail.message import MEDIA_OPTIONS, Attachment, MailParts, build_message
from channels._mail.parse import parse_email
from channels._mail.webhooks import FormPart, MailWebhook, form_fields, form_parts, json_field
from gateway.plugin import EnvVar, table_keys, user_password
from gateway.records import InboundMessage


@register
class Sendgrid(MailWebhook):
    name = "sendgrid"
    route = "/webhooks/email/sendgrid"
    content_types = ("multipart/form-data",)
    known_options = table_keys(
        basic_auth_env=EnvVar("SENDGRID_INBOUND_AUTH", content=user_password), **MEDIA_OPTIONS
    )

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        parts = form_parts(req)
        fields = form_fields(parts)
        envelope = json_field(fields.get("envelope", ""), "envelope")
        if not isinstance(envelope, dict):
            envelope = {}
        sender, to = envelope.get("from"), envelope.get("to")
        envelope_from = sender if isinstance(sender, str) and sender else None
        envelope_to = [t for t in to if isinstance(t, str)] if isinstance(to, list) else []
        verdicts = {"spf": fields.get("SPF", ""), "dkim": fields.get("dkim", "")}
        raw = next((p.data for p in parts if p.name == "email"), None)
        if raw is not None:
            # "Send Raw": the whole MIME message, read like mail to our own listener.
            message = parse_email(
                raw,
                self.name,
                self.limits,
                envelope_from=envelope_from,
                envelope_to=envelope_to,
                verdicts=verdicts,
            )
            return [message]
        headers = parse_headers_block(fields.get("headers", "")).plus(
            [(h, fields.get(h.lower(), "")) for h in ("From", "To", "Cc", "Subject")]
        )
        mail = MailParts(
            headers=headers,
            text=fields.get("text", ""),
            html=fields.get("html", ""),
            attachments=_attachments(parts),
            envelope_from=envelope_from,
            envelope_to=tuple(envelope_to),
            verdicts=verdicts,
            fallback_id="sendgrid:" + hashlib.sha256(req.body).hexdigest(),
        )
        return [build_message(self.name, mail, self.limits, req.body)]


def _attachments(parts: list[FormPart]) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(p.content_type, p.data)
        for p in parts
        if p.filename is not None and p.name.startswith("attachment")
    )
