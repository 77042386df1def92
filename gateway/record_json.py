"""The service request as JSON: the shape connectors send and drop folders hold.

``request_to_dict`` gives a JSON-ready dict (UTC ISO-8601 datetimes ending in ``Z``, nested
reporter, location, media and flags, the status as its string) and ``request_from_dict`` reads it
back; for aware datetimes the two round-trip exactly. This is a view for the outside world: for an
anonymous reporter the name, phone, email and reply address are dropped, and those values are also
blanked wherever they appear verbatim in the text (defence in depth), so do not use it to store a
request whose anonymous reporter still needs replies on their channel.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gateway.records import Flags, Location, Media, Reporter, ServiceRequest, Status

REDACTED = "[redacted]"
# Contact values shorter than this are too likely to match ordinary words to be blanked.
_MIN_REDACT = 3


def request_to_dict(request: ServiceRequest) -> dict[str, Any]:
    """The request as a JSON-ready dict; an anonymous reporter's contact never appears in it."""
    req = anonymized(request)
    return {
        "id": req.id,
        "tracking_number": req.tracking_number,
        "channel": req.channel,
        "channel_message_id": req.channel_message_id,
        "received_at": format_datetime(req.received_at),
        "reporter": dataclasses.asdict(req.reporter),
        "description": req.description,
        "original_text": req.original_text,
        "service_code": req.service_code,
        "service_name": req.service_name,
        "service_confidence": req.service_confidence,
        "attributes": _plain(req.attributes),
        "location": dataclasses.asdict(req.location) if req.location else None,
        "media": [dataclasses.asdict(m) for m in req.media],
        "flags": {
            "emergency": req.flags.emergency,
            "possible_duplicate_of": req.flags.possible_duplicate_of,
            "needs_follow_up": list(req.flags.needs_follow_up),
            "unparsed": req.flags.unparsed,
        },
        "status": str(req.status),
        "case_id": req.case_id,
        "updated_at": format_datetime(req.updated_at) if req.updated_at else None,
    }


def request_from_dict(data: Mapping[str, Any]) -> ServiceRequest:
    """Read back what ``request_to_dict`` wrote; a missing required key raises ``KeyError``."""
    location = data.get("location")
    flags = data.get("flags") or {}
    updated_at = data.get("updated_at")
    return ServiceRequest(
        id=data["id"],
        tracking_number=data["tracking_number"],
        channel=data["channel"],
        channel_message_id=data["channel_message_id"],
        received_at=parse_datetime(data["received_at"]),
        reporter=Reporter(**data["reporter"]),
        description=data["description"],
        original_text=data["original_text"],
        service_code=data.get("service_code"),
        service_name=data.get("service_name"),
        service_confidence=float(data.get("service_confidence", 0.0)),
        attributes=dict(data.get("attributes") or {}),
        location=Location(**location) if location else None,
        media=tuple(Media(**m) for m in data.get("media") or ()),
        flags=Flags(
            emergency=bool(flags.get("emergency", False)),
            possible_duplicate_of=flags.get("possible_duplicate_of"),
            needs_follow_up=tuple(flags.get("needs_follow_up") or ()),
            unparsed=bool(flags.get("unparsed", False)),
        ),
        status=Status(data.get("status", Status.RECEIVED)),
        case_id=data.get("case_id"),
        updated_at=parse_datetime(updated_at) if updated_at else None,
    )


def anonymized(request: ServiceRequest) -> ServiceRequest:
    """The request as it may leave the gateway: an anonymous reporter keeps no contact at all."""
    reporter = request.reporter
    if not reporter.anonymous:
        return request
    secrets = [
        v
        for v in (reporter.phone, reporter.email, reporter.name, reporter.address)
        if v and len(v) >= _MIN_REDACT
    ]
    pattern = _secrets_pattern(secrets)
    return dataclasses.replace(
        request,
        reporter=Reporter(anonymous=True, language=reporter.language),
        description=_redact(request.description, pattern),
        original_text=_redact(request.original_text, pattern),
        attributes={k: _redact_value(v, pattern) for k, v in request.attributes.items()},
    )


def format_datetime(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(text: str) -> datetime:
    """An ISO-8601 / W3C datetime (``Z`` or an offset) as an aware UTC datetime."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _plain(value: Any) -> Any:
    """Attributes as JSON types: mappings become dicts, tuples and sets become lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return format_datetime(value)
    return value


def _secrets_pattern(secrets: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any secret as a whole word, or None."""
    if not secrets:
        return None
    alternatives = "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _redact(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with every match of ``pattern`` blanked."""
    return pattern.sub(REDACTED, text) if pattern else text


def _redact_value(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """An attribute value with contacts blanked in its strings, however deeply nested."""
    if isinstance(value, str):
        return _redact(value, pattern)
    if isinstance(value, Mapping):
        return {k: _redact_value(v, pattern) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, pattern) for v in value]
    return value
