"""Inbound messages to and from the JSON column the pipeline reads."""

from __future__ import annotations

from typing import Any

from gateway.records import InboundMessage, Location, Media, Notification


def message_to_json(message: InboundMessage) -> dict[str, Any]:
    """The parsed message without its raw bytes (those have their own column)."""
    loc = message.location
    return {
        "channel": message.channel,
        "provider_id": message.provider_id,
        "sender": message.sender,
        "text": message.text,
        "subject": message.subject,
        "media": [
            {
                "content_type": m.content_type,
                "url": m.url,
                "path": m.path,
                "size": m.size,
                "sha256": m.sha256,
            }
            for m in message.media
        ],
        "location": None
        if loc is None
        else {
            "lat": loc.lat,
            "long": loc.long,
            "address": loc.address,
            "zipcode": loc.zipcode,
            "source": loc.source,
            "confidence": loc.confidence,
        },
        "extra": dict(message.extra),
    }


def message_from_json(data: dict[str, Any], raw: bytes = b"") -> InboundMessage:
    """Rebuild the message the channel parsed."""
    loc = data.get("location")
    return InboundMessage(
        channel=data["channel"],
        provider_id=data["provider_id"],
        sender=data.get("sender", ""),
        text=data.get("text", ""),
        subject=data.get("subject"),
        media=tuple(Media(**m) for m in data.get("media", [])),
        location=Location(**loc) if loc else None,
        raw=raw,
        extra=dict(data.get("extra", {})),
    )


def notification_to_json(note: Notification) -> dict[str, Any]:
    """A notification as an outbox job's payload."""
    return {
        "channel": note.channel,
        "to": note.to,
        "body": note.body,
        "purpose": note.purpose,
        "request_id": note.request_id,
        "subject": note.subject,
        "thread": dict(note.thread),
    }


def notification_from_json(data: dict[str, Any]) -> Notification:
    """The notification an outbox job carries."""
    return Notification(**{**data, "thread": dict(data.get("thread") or {})})
