"""Postmark inbound: mail for the city's inbound address, posted as JSON.

Fields: https://postmarkapp.com/developer/webhooks/inbound-webhook (``RawEmail`` when the
server includes the raw message). Postmark signs nothing; the URL carries HTTP basic auth
(``https://user:password@host/webhooks/email/postmark``), checked here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from channels import WebhookRequest, register
from channels._mail.headers import Headers
from channels._mail.message import MEDIA_OPTIONS, Attachment, MailParts, build_message
from channels._mail.parse import parse_email
from channels._mail.webhooks import MailWebhook
from gateway.errors import MalformedPayload
from gateway.plugin import EnvVar, table_keys, user_password
from gateway.records import InboundMessage


@register
class Postmark(MailWebhook):
    name = "postmark"
    route = "/webhooks/email/postmark"
    content_types = ("application/json",)
    known_options = table_keys(
        basic_auth_env=EnvVar("POSTMARK_INBOUND_AUTH", content=user_password), **MEDIA_OPTIONS
    )

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        data = req.json()
        if not isinstance(data, dict):
            raise MalformedPayload("the body is not a JSON object")
        envelope_to = tuple(_text(data, "OriginalRecipient").split(",")) + tuple(
            _text(t, "Email") for t in _objects(data, "ToFull")
        )
        if _text(data, "RawEmail"):
            raw = _text(data, "RawEmail").encode("utf-8", "surrogateescape")
            return [parse_email(raw, self.name, self.limits, envelope_to=envelope_to)]
        pairs = [(_text(h, "Name"), _text(h, "Value")) for h in _objects(data, "Headers")]
        headers = Headers(pairs).plus(
            [(h, _text(data, h)) for h in ("From", "To", "Cc", "Subject", "Date")]
        )
        mail = MailParts(
            headers=headers,
            text=_text(data, "TextBody"),
            html=_text(data, "HtmlBody"),
            attachments=_attachments(data),
            envelope_to=tuple(t.strip() for t in envelope_to if t.strip()),
            fallback_id="postmark:" + _text(data, "MessageID"),
        )
        return [build_message(self.name, mail, self.limits, req.body)]


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _objects(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The JSON objects in the list ``key`` (``ToFull``, ``Headers``); none if it is no list."""
    value = data.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _attachments(data: dict[str, Any]) -> tuple[Attachment, ...]:
    found = []
    for item in _objects(data, "Attachments"):
        try:
            content = base64.b64decode(_text(item, "Content"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedPayload("an attachment's Content is not base64") from exc
        found.append(Attachment(_text(item, "ContentType"), content))
    return tuple(found)
