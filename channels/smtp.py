"""Mail delivered straight to the city's own SMTP listener (``gateway/ingest/smtp.py``).

The listener accepts the mail and stores its raw RFC 5322 bytes with the envelope (MAIL FROM,
RCPT TO) as headers; this channel parses them, then and whenever staff reprocess the row.
It has no HTTP route. RFC 5321 (SMTP), RFC 5322 (message format).
"""

from __future__ import annotations

from functools import cached_property

from channels import Channel, WebhookRequest, register
from channels._mail.message import MEDIA_OPTIONS, MediaLimits
from channels._mail.parse import parse_email
from gateway.plugin import Flag, Text, Texts, Whole, table_keys
from gateway.records import InboundMessage

# The envelope travels beside the raw message under these header names.
MAIL_FROM = "x-smtp-mail-from"
RCPT_TO = "x-smtp-rcpt-to"


@register
class Smtp(Channel):
    name = "smtp"
    # No webhook: the SMTP listener (gateway.ingest.smtp) hands each mail to the core.
    content_types = ("message/rfc822",)
    reply_via = "email"
    # The listener (gateway.ingest.smtp) reads all but the attachment limits.
    known_options = table_keys(
        domains=Texts(("localhost",)),
        hostname=Text(),
        max_message_bytes=Whole(10_485_760),
        tls_cert=Text(),
        tls_key=Text(),
        require_starttls=Flag(False),
        **MEDIA_OPTIONS,
    )

    @cached_property
    def limits(self) -> MediaLimits:
        return MediaLimits.from_options(self.options)

    def verify(self, req: WebhookRequest) -> None:
        """Nothing to check: the listener only takes mail for the city's own domains."""

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        recipients = [r.strip() for r in req.headers.get(RCPT_TO, "").split(",") if r.strip()]
        message = parse_email(
            req.body,
            self.name,
            self.limits,
            envelope_from=req.headers.get(MAIL_FROM),
            envelope_to=recipients,
        )
        return [message]
