"""What the inbound-parse webhooks share: multipart forms, basic auth, and replayed tokens.

``multipart/form-data`` (RFC 7578) is read with the standard library's email parser, on the
exact bytes that were stored, so a reprocess reads the same fields.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from functools import cached_property
from typing import Any

from channels import Channel, WebhookRequest
from channels._mail.headers import decode_bytes
from channels._mail.message import MediaLimits
from channels._safe import check_mime, load_json, same_secret
from gateway.errors import BadSignature, MalformedPayload


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str = "text/plain"
    charset: str | None = None

    def text(self) -> str:
        return decode_bytes(self.data, self.charset)


def form_parts(req: WebhookRequest) -> list[FormPart]:
    """The parts of a ``multipart/form-data`` body, in order; parsed once per request (verify,
    the replay check and parse each ask for them)."""
    # The request is frozen, but like ``cached_property`` its __dict__ can hold what was parsed.
    cached = req.__dict__.get(_PARTS)
    if cached is None:
        cached = req.__dict__[_PARTS] = _parse_parts(req)
    return list(cached)


_PARTS = "_form_parts"


def _parse_parts(req: WebhookRequest) -> list[FormPart]:
    content_type = req.header("Content-Type")
    if "boundary=" not in content_type:
        raise MalformedPayload("multipart/form-data without a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    check_mime(head + req.body, "the form")
    try:
        msg = BytesParser(policy=policy.HTTP).parsebytes(head + req.body)
    except RecursionError as exc:
        raise MalformedPayload("the form nests too deep") from exc
    if not msg.is_multipart():
        raise MalformedPayload("the multipart body has no parts")
    parts = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(data, bytes):
            continue
        parts.append(
            FormPart(
                name=name,
                data=data,
                filename=part.get_filename(),
                content_type=part.get_content_type(),
                charset=part.get_content_charset(),
            )
        )
    return parts


def form_fields(parts: Sequence[FormPart]) -> dict[str, str]:
    """The plain fields of a form (not its files), decoded as text."""
    return {p.name: p.text() for p in parts if p.filename is None}


def check_basic_auth(req: WebhookRequest, expected: str) -> None:
    """Refuse unless the request carries HTTP basic credentials equal to ``user:password``."""
    scheme, _, value = req.header("Authorization").partition(" ")
    if scheme.lower() != "basic" or not value:
        raise BadSignature("basic authentication is required")
    try:
        given = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSignature("the Authorization header is not valid basic authentication") from exc
    if not same_secret(given, expected):
        raise BadSignature("wrong basic authentication credentials")


def json_field(value: str, name: str) -> Any:
    """A JSON document posted inside a form field (SendGrid's ``envelope``, ``message-headers``)."""
    if not value:
        return None
    return load_json(value, name)


class MailWebhook(Channel):
    """A provider's inbound-parse webhook: mail answered by email, guarded by basic auth in its
    URL (SendGrid, Postmark) unless the provider signs its requests (Mailgun overrides)."""

    reply_via = "email"

    @cached_property
    def limits(self) -> MediaLimits:
        return MediaLimits.from_options(self.options)

    def verify(self, req: WebhookRequest) -> None:
        check_basic_auth(req, self.secret("basic_auth"))
