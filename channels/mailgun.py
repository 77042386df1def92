"""Mailgun routes: mail for the city's Mailgun domain, posted by a route's ``forward()`` action.

Fields: https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/receive-http
(urlencoded without attachments, multipart with them; a URL ending in ``mime`` gets the raw
message as ``body-mime``). Signature: hex HMAC-SHA256 of ``timestamp + token`` with the domain's
webhook signing key (securing-webhooks); an old timestamp or a token seen before is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import cached_property
from typing import Any

from channels import WebhookRequest, register
from channels._mail.headers import Headers
from channels._mail.message import MEDIA_OPTIONS, Attachment, MailParts, build_message
from channels._mail.parse import parse_email
from channels._mail.webhooks import MailWebhook, form_fields, form_parts, json_field
from channels._safe import ascii_digits, same_secret
from gateway.errors import BadSignature
from gateway.plugin import EnvVar, Number, table_keys
from gateway.records import InboundMessage

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@register
class Mailgun(MailWebhook):
    name = "mailgun"
    route = "/webhooks/email/mailgun"
    content_types = (FORM, MULTIPART)
    known_options = table_keys(
        signing_key_env=EnvVar("MAILGUN_SIGNING_KEY"),
        max_age_seconds=Number(300.0),
        **MEDIA_OPTIONS,
    )

    @cached_property
    def max_age(self) -> float:
        return float(self.options.get("max_age_seconds", 300))

    def verify(self, req: WebhookRequest) -> None:
        fields = _fields(req)
        timestamp, token = fields.get("timestamp", ""), fields.get("token", "")
        signed = (timestamp + token).encode("utf-8")
        key = self.secret("signing_key").encode("utf-8")
        expected = hmac.new(key, signed, hashlib.sha256).hexdigest()
        if not token or not same_secret(fields.get("signature", ""), expected):
            raise BadSignature("the Mailgun signature does not match")
        seconds = ascii_digits(timestamp)
        if seconds is None or abs(time.time() - seconds) > self.max_age:
            raise BadSignature("the Mailgun timestamp is too old (or in the future)")

    def replay_token(self, req: WebhookRequest) -> str:
        """The one-time token the gateway must refuse to see twice, across processes too."""
        return _fields(req).get("token", "")

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        fields = _fields(req)
        envelope_to = tuple(r.strip() for r in fields.get("recipient", "").split(",") if r)
        envelope_from = fields.get("sender") or None
        if fields.get("body-mime"):
            message = parse_email(
                _raw_mime(req, fields),
                self.name,
                self.limits,
                envelope_from=envelope_from,
                envelope_to=envelope_to,
            )
            return [message]
        pairs = _header_pairs(json_field(fields.get("message-headers", ""), "message-headers"))
        headers = Headers(pairs).plus(
            [(h, fields.get(h, "") or fields.get(h.lower(), "")) for h in _HEADER_FIELDS]
        )
        mail = MailParts(
            headers=headers,
            text=fields.get("body-plain", ""),
            html=fields.get("body-html", ""),
            attachments=_attachments(req),
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            fallback_id="mailgun:" + fields.get("token", ""),
        )
        return [build_message(self.name, mail, self.limits, req.body)]


_HEADER_FIELDS = ("Message-Id", "From", "To", "Subject", "In-Reply-To", "References")


def _header_pairs(value: Any) -> list[tuple[str, str]]:
    """``message-headers``: a list of ``[name, value]`` pairs; anything else is no headers."""
    if not isinstance(value, list):
        return []
    return [
        (pair[0], pair[1])
        for pair in value
        if isinstance(pair, list)
        and len(pair) == 2
        and isinstance(pair[0], str)
        and isinstance(pair[1], str)
    ]


def _fields(req: WebhookRequest) -> dict[str, str]:
    if req.header("Content-Type").startswith(MULTIPART):
        return form_fields(form_parts(req))
    return req.form


def _raw_mime(req: WebhookRequest, fields: dict[str, str]) -> bytes:
    """``body-mime`` as bytes: exactly as posted when it came as a multipart part."""
    if req.header("Content-Type").startswith(MULTIPART):
        return next(p.data for p in form_parts(req) if p.name == "body-mime")
    return fields["body-mime"].encode("utf-8")


def _attachments(req: WebhookRequest) -> tuple[Attachment, ...]:
    if not req.header("Content-Type").startswith(MULTIPART):
        return ()
    return tuple(
        Attachment(p.content_type, p.data)
        for p in form_parts(req)
        if p.filename is not None and p.name.startswith("attachment")
    )
