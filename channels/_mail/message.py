"""One email, whatever carried it, becomes one ``InboundMessage``.

The provider id is the RFC 5322 Message-ID, so a re-delivered mail is stored once. Photos are
kept as media (content type, size, sha256); their bytes stay in the raw message stored beside
the record, which is where staff and connectors read them. Loop and thread hints go in ``extra``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from typing import Any

from channels._mail.headers import Headers, message_ids, readable
from channels._mail.loops import auto_reason, no_reply_reason
from channels._mail.verdict import auth_verdicts
from gateway.errors import MalformedPayload
from gateway.plugin import Texts, Whole, table_keys
from gateway.records import NO_REPLY, InboundMessage, MailThread, Media

_PLUS_TAG = re.compile(r"^[^+@\s]+\+([A-Za-z0-9]{4,16})@", re.ASCII)
_DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_DEFAULT_MAX_COUNT = 10
_DEFAULT_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif")
# The keys of every email channel's table that ``MediaLimits.from_options`` reads.
MEDIA_OPTIONS = table_keys(
    attachment_types=Texts(_DEFAULT_TYPES),
    max_attachment_bytes=Whole(_DEFAULT_MAX_BYTES),
    max_attachments=Whole(_DEFAULT_MAX_COUNT, minimum=0),
)


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Which attachments are kept as media: types, size per file, how many."""

    types: frozenset[str] = frozenset(_DEFAULT_TYPES)
    max_bytes: int = _DEFAULT_MAX_BYTES
    max_count: int = _DEFAULT_MAX_COUNT

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MediaLimits:
        """Limits from a channel's ``attachment_types`` / ``max_attachment_bytes`` options."""
        types = options.get("attachment_types") or _DEFAULT_TYPES
        return cls(
            types=frozenset(str(t).lower() for t in types),
            max_bytes=int(options.get("max_attachment_bytes", _DEFAULT_MAX_BYTES)),
            max_count=int(options.get("max_attachments", _DEFAULT_MAX_COUNT)),
        )


@dataclass(frozen=True, slots=True)
class Attachment:
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class MailParts:
    """What an email channel found: headers, bodies, files, and what its carrier adds."""

    headers: Headers
    text: str = ""
    html: str = ""
    attachments: tuple[Attachment, ...] = ()
    # SMTP's MAIL FROM ("" is the null reverse path of a bounce); None when not known.
    envelope_from: str | None = None
    envelope_to: tuple[str, ...] = ()
    # The provider's SPF / DKIM verdict fields, e.g. {"spf": "pass"}.
    verdicts: Mapping[str, str] = field(default_factory=dict)
    # The provider's own id, used when the mail has no Message-ID.
    fallback_id: str = ""


def build_message(
    channel: str, parts: MailParts, limits: MediaLimits, raw: bytes
) -> InboundMessage:
    """The inbound message, or ``MalformedPayload`` naming what is missing."""
    headers = parts.headers
    sender_name, sender = _sender(headers, parts.envelope_from)
    text = parts.text.strip() or _visible_text(parts.html).strip()
    subject = headers.get("Subject").strip()
    media, skipped = _media(parts.attachments, limits)
    if not (text or subject or media):
        raise MalformedPayload("the mail has no text, subject or photo")
    recipients = _recipients(headers, parts.envelope_to)
    thread = MailThread(
        in_reply_to=tuple(message_ids(headers.get("In-Reply-To"))),
        # The newest fifty are enough to find our own mail among them.
        references=tuple(message_ids(" ".join(headers.all("References"))))[-50:],
        plus_tag=_plus_tag(recipients),
    )
    verdicts = auth_verdicts(headers, parts.verdicts)
    extra = {
        "from_name": sender_name,
        "to": ", ".join(recipients)[:1000],
        "attachments_skipped": str(skipped) if skipped else "",
        **verdicts,
        # Read by the replies: no automatic mail to a forged, null or role sender.
        NO_REPLY: no_reply_reason(sender, parts.envelope_from, verdicts),
    }
    return InboundMessage(
        channel=channel,
        provider_id=_provider_id(headers, parts.fallback_id, raw),
        sender=sender,
        text=text,
        media=media,
        raw=raw,
        subject=subject or None,
        thread=thread,
        auto_reply=auto_reason(headers, parts.envelope_from) or "",
        extra={k: v for k, v in extra.items() if v},
    )


def _visible_text(html: str) -> str:
    """The words an HTML-only mail shows, a block a line; the normalizer cleans them further."""
    # Imported here: few mails are HTML only, and every command line start imports the channels.
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup.find_all(["script", "style", "head", "title"]):
        hidden.decompose()
    return soup.get_text("\n")


def _sender(headers: Headers, envelope_from: str | None) -> tuple[str, str]:
    for value in (headers.get("From"), headers.get("Sender"), envelope_from or ""):
        name, address = parseaddr(value)
        if "@" in address:
            return readable(name), readable(address)
    raise MalformedPayload("the mail has no sender address (From)")


def _recipients(headers: Headers, envelope_to: Iterable[str]) -> list[str]:
    values = [*headers.all("To"), *headers.all("Cc"), *headers.all("Delivered-To")]
    found = [*envelope_to, *(address for _, address in getaddresses(values) if "@" in address)]
    return list(dict.fromkeys(readable(a) for a in found))


def _plus_tag(recipients: Iterable[str]) -> str:
    """``311+K7M2QX@city.gov`` -> ``K7M2QX``: the request a reply to our mail belongs to."""
    for address in recipients:
        match = _PLUS_TAG.match(address)
        if match:
            return match.group(1).upper()
    return ""


def _provider_id(headers: Headers, fallback: str, raw: bytes) -> str:
    ids = message_ids(headers.get("Message-ID"))
    value = ids[0] if ids else headers.get("Message-ID").strip() or fallback
    if not value or len(value) > 255:
        return "sha256:" + hashlib.sha256(value.encode() if value else raw).hexdigest()
    return value


def _media(attachments: Iterable[Attachment], limits: MediaLimits) -> tuple[tuple[Media, ...], int]:
    kept: list[Media] = []
    skipped = 0
    for item in attachments:
        content_type = item.content_type.lower()
        fits = content_type in limits.types and 0 < len(item.data) <= limits.max_bytes
        if not fits or len(kept) >= limits.max_count:
            skipped += 1
            continue
        digest = hashlib.sha256(item.data).hexdigest()
        kept.append(Media(content_type=content_type, size=len(item.data), sha256=digest))
    return tuple(kept), skipped
