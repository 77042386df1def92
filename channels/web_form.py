"""The city's own web form (``/report``), served by ``gateway.web``.

The web layer checks the CSRF token, the honeypot and the rate limit, validates the fields
against the catalog and saves the photos; what it stores is a JSON document of the resident's
answers, which this channel parses like any provider's body. ``submission`` is a token the server
put in the form, so a double submit or a browser retry is stored once.
"""

from __future__ import annotations

from typing import Any

from channels import Channel, WebhookRequest, register
from channels._safe import coordinates
from gateway.errors import MalformedPayload
from gateway.records import Declared, InboundMessage, Location, Media


@register
class WebForm(Channel):
    name = "web_form"
    # No webhook of its own: the form pages (CSRF, photos, HTML answers) hand it to the core.
    content_types = ("application/json",)
    # The confirmation and status updates go by email when the resident gave one.
    reply_via = "email"
    # The page shows the tracking number and the email confirmation is queued at submit time.
    confirms_in_ack = True
    # The form pages read this table: its keys are declared beside them (gateway/config/web.py).
    known_options = None

    @classmethod
    def notifier_for(cls, address: str) -> str | None:
        """A form reporter is answered where they asked: by email, else by text message."""
        if "@" in address:
            return "email"
        return "twilio_sms" if address.startswith("+") else None

    def verify(self, req: WebhookRequest) -> None:
        """The web layer built this body itself after checking the form's CSRF token."""

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        data = req.json()
        if not isinstance(data, dict) or not isinstance(data.get("submission"), str):
            raise MalformedPayload("submission is missing")
        email, phone = _str(data, "email"), _str(data, "phone")
        anonymous = bool(data.get("anonymous"))
        attributes = data.get("attributes")
        declared = Declared(
            name="" if anonymous else _str(data, "name"),
            email="" if anonymous else email,
            phone="" if anonymous else phone,
            language=_str(data, "language") or "en",
            service_code=_str(data, "service_code"),
            attributes=attributes if isinstance(attributes, dict) else {},
            anonymous=anonymous,
        )
        return [
            InboundMessage(
                channel=self.name,
                provider_id=f"form-{data['submission']}",
                sender="" if anonymous else (email or phone),
                text=_str(data, "description"),
                media=tuple(_media(m) for m in data.get("media") or []),
                location=_location(data),
                raw=req.body,
                declared=declared,
            )
        ]


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _media(item: Any) -> Media:
    if not isinstance(item, dict):
        raise MalformedPayload("media entries must be objects")
    return Media(
        content_type=str(item.get("content_type", "")),
        path=item.get("path"),
        size=item.get("size"),
        sha256=item.get("sha256"),
    )


def _location(data: dict[str, Any]) -> Location | None:
    lat, long = data.get("lat"), data.get("long")
    address = _str(data, "address") or None
    has_point = lat is not None and long is not None
    if not has_point and address is None:
        return None
    # Checked here, at parse time (400): a point off the Earth would fail the pipeline later.
    point = coordinates(lat, long) if has_point else (None, None)
    return Location(
        lat=point[0],
        long=point[1],
        address=address,
        # "device": the browser's geolocation; "resident": an address typed on the form.
        source="device" if has_point else "resident",
        confidence=1.0 if has_point else 0.0,
    )
