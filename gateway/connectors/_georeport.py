"""GeoReport v2 POST Service Request arguments, built from a service request.

Spec: http://wiki.open311.org/GeoReport_v2/#post-service-request. Arguments go in the spec's
order; lists use ``attribute[code][]=value`` once per value; an anonymous reporter sends no
contact, and ``device_id``/``account_id`` are stable pseudonyms (SHA-256 prefixes) of the reply
address and the phone or email, so a CRM can group one resident's reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from gateway.record_json import anonymized, format_datetime
from gateway.records import Location, ServiceRequest

MAX_DESCRIPTION = 4000
# How a city clerk reading the description knows the channel; other channels show their name.
CHANNEL_LABELS = {
    "twilio_sms": "SMS",
    "twilio_whatsapp": "WhatsApp",
    "twilio_voice": "phone",
    "email": "email",
    "web_form": "web form",
    "slack": "Slack",
    "x": "X",
    "open311": "Open311",
}


def build_form(
    request: ServiceRequest,
    service_code: str,
    api_key: str | None,
    extra: Mapping[str, str],
    unknown_place: str = "",
) -> list[tuple[str, str]]:
    """The POST arguments in the spec's order; empty ones are left out.

    GeoReport requires a place; a request that has none (an emergency filed at once, a question
    that went unanswered) is sent with ``unknown_place`` as its ``address_string``.
    """
    req = anonymized(request)
    place = _location_fields(req.location) or [("address_string", unknown_place or None)]
    fields: list[tuple[str, str | None]] = [
        ("api_key", api_key),
        *extra.items(),
        ("service_code", service_code),
        *place,
        *_reporter_fields(req),
        ("description", _description(req)),
        ("media_url", next((m.url for m in req.media if m.url), None)),
        *_attribute_fields(req.attributes),
    ]
    return [(key, value) for key, value in fields if value]


def encode_form(fields: list[tuple[str, str]]) -> str:
    """Form-encode, keeping the literal brackets of ``attribute[code][]`` as the spec shows them."""
    return "&".join(f"{quote_plus(k, safe='[]')}={quote_plus(v)}" for k, v in fields)


def _location_fields(location: Location | None) -> list[tuple[str, str | None]]:
    """``lat``/``long`` when both are known, and the address as the resident gave it."""
    if location is None:
        return []
    fields: list[tuple[str, str | None]] = []
    if location.lat is not None and location.long is not None:
        fields += [("lat", repr(location.lat)), ("long", repr(location.long))]
    if location.address:
        fields.append(("address_string", location.address))
    return fields


def _reporter_fields(req: ServiceRequest) -> list[tuple[str, str | None]]:
    """Contact fields; ``device_id``/``account_id`` are stable pseudonyms of the reply address."""
    rep = req.reporter
    if rep.anonymous:
        return []
    first, _, last = (rep.name or "").strip().partition(" ")
    contact = rep.phone or rep.email
    return [
        ("email", rep.email),
        ("device_id", f"gw-{req.channel}-{_digest(rep.address)[:6]}" if rep.address else None),
        ("account_id", f"gw-reporter-{_digest(contact)[:12]}" if contact else None),
        ("first_name", first),
        ("last_name", last.strip()),
        ("phone", rep.phone),
    ]


def _description(req: ServiceRequest) -> str:
    """The cleaned text with the tracking number appended, within the spec's 4,000 characters."""
    label = CHANNEL_LABELS.get(req.channel, req.channel)
    footer = f"\n[Reported by {label} via the 311 gateway, tracking number {req.tracking_number}]"
    text = (req.description or req.original_text).strip()
    room = MAX_DESCRIPTION - len(footer)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + footer


def _attribute_fields(attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """``attribute[code]=value``, and ``attribute[code][]=value`` once per value of a list."""
    fields: list[tuple[str, str | None]] = []
    for code, value in attributes.items():
        if isinstance(value, list | tuple | set | frozenset):
            fields += [(f"attribute[{code}][]", _text(v)) for v in value]
        elif value is not None:
            fields.append((f"attribute[{code}]", _text(value)))
    return fields


def _text(value: Any) -> str:
    """An attribute value as the form carries it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    return str(value)


def _digest(value: str) -> str:
    """A hex SHA-256 of a contact, so the CRM can group one resident's reports."""
    return hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()
