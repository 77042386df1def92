"""RFC 5322 messages (raw bytes) into ``MailParts``, robust to the broken mail of the real world.

The standard library's ``email`` package with ``policy.default`` records defects instead of
raising on most damage (bad charsets, missing boundaries, malformed headers); what it still
cannot read becomes ``MalformedPayload`` so the raw bytes are stored flagged for staff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email import errors, policy
from email.message import Message
from email.parser import BytesParser

from channels._mail.headers import decode_bytes, message_headers
from channels._mail.message import Attachment, MailParts, MediaLimits, build_message
from channels._safe import check_mime
from gateway.errors import MalformedPayload
from gateway.records import InboundMessage

# What a damaged message can make the email package raise while we read it.
_READ_ERRORS = (
    errors.MessageError,
    ValueError,
    LookupError,
    UnicodeError,
    TypeError,
    IndexError,
    AttributeError,
    AssertionError,
    RecursionError,
)


def parse_email(
    raw: bytes,
    channel: str,
    limits: MediaLimits,
    *,
    envelope_from: str | None = None,
    envelope_to: Sequence[str] = (),
    verdicts: Mapping[str, str] | None = None,
    fallback_id: str = "",
) -> InboundMessage:
    """The message in ``raw``; ``MalformedPayload`` (never anything else) when it has none."""
    check_mime(raw)
    try:
        parts = read_parts(raw)
    except _READ_ERRORS as exc:
        raise MalformedPayload(f"the mail cannot be read: {type(exc).__name__}") from exc
    parts = MailParts(
        headers=parts.headers,
        text=parts.text,
        html=parts.html,
        attachments=parts.attachments,
        envelope_from=envelope_from,
        envelope_to=tuple(envelope_to),
        verdicts=dict(verdicts or {}),
        fallback_id=fallback_id,
    )
    return build_message(channel, parts, limits, raw)


def read_parts(raw: bytes) -> MailParts:
    """Headers, the first plain and HTML bodies, and every file part of ``raw``."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text = html = ""
    files: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        attached = part.get_content_disposition() == "attachment"
        # A multipart without its boundary is one body the client meant as text.
        plain = content_type == "text/plain" or content_type.startswith("multipart/")
        if plain and not attached and not text:
            text = _decode_text(part)
        elif content_type == "text/html" and not attached and not html:
            html = _decode_text(part)
        elif not content_type.startswith(("text/", "message/")):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                files.append(Attachment(content_type, data))
    return MailParts(headers=message_headers(msg), text=text, html=html, attachments=tuple(files))


def _decode_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset())
