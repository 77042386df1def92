"""Open311 GeoReport v2 ``POST requests``: apps and kiosks filing through the gateway.

Spec: http://wiki.open311.org/GeoReport_v2/#post-service-request. The body is a urlencoded form
(``service_code``, ``lat``/``long`` or ``address_string``, ``attribute[CODE]=value``, contact
fields, ``description``, ``media_url``). The API key is checked by the web layer against the
database before this channel sees the body, and never stored; the request's token travels in the
``X-Open311-Token`` header so that a stored body parses again to the same message.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from channels import Channel, WebhookRequest, register
from gateway.errors import MalformedPayload
from gateway.records import Declared, InboundMessage, Location, Media

TOKEN_HEADER = "X-Open311-Token"  # noqa: S105 - a header name, not a secret
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
# Device and account fields the spec names, kept for staff and the case system.
_EXTRA_FIELDS = ("device_id", "account_id", "jurisdiction_id", "address_id")


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """The urlencoded body as ordered pairs (a multivaluelist repeats its key)."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(f"body is not a valid urlencoded form: {exc}") from exc


def attributes(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """``attribute[CODE]=v`` as ``{CODE: v}``; ``attribute[CODE][]=a`` repeated as a list."""
    found: dict[str, str | list[str]] = {}
    for key, value in pairs:
        match = _ATTRIBUTE.match(key)
        if match is None:
            continue
        code, many = match.group(1), match.group(2)
        if many:
            listed = found.setdefault(code, [])
            if isinstance(listed, list):
                listed.append(value)
        else:
            found[code] = value
    return found


@register
class Open311(Channel):
    name = "open311"
    # No webhook of its own: the Open311 server (API keys, the spec's errors) hands it over.
    content_types = ("application/x-www-form-urlencoded",)
    # The Open311 server reads this table: its keys are declared beside it (gateway/config/web.py).
    known_options = None

    def verify(self, req: WebhookRequest) -> None:
        """The API key was checked against the database before the body was stored."""

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        token = req.header(TOKEN_HEADER)
        if not token:
            raise MalformedPayload(f"{TOKEN_HEADER} is missing")
        pairs = form_pairs(req.body)
        form = dict(pairs)
        if not form.get("service_code"):
            raise MalformedPayload("service_code was not provided")
        name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p)
        declared = Declared(
            name=name,
            email=form.get("email", ""),
            phone=form.get("phone", ""),
            service_code=form["service_code"],
            attributes=attributes(pairs),
        )
        media = (Media(content_type="", url=form["media_url"]),) if form.get("media_url") else ()
        return [
            InboundMessage(
                channel=self.name,
                provider_id=token,
                sender=form.get("email") or form.get("phone") or "",
                text=form.get("description", ""),
                media=media,
                location=_location(form),
                raw=req.body,
                declared=declared,
                extra={k: form[k] for k in _EXTRA_FIELDS if form.get(k)},
            )
        ]


def _location(form: dict[str, str]) -> Location | None:
    lat, long = _coordinate(form, "lat", 90.0), _coordinate(form, "long", 180.0)
    address = form.get("address_string") or None
    if (lat is None or long is None) and address is None:
        return None
    if lat is None or long is None:
        lat = long = None
    return Location(lat=lat, long=long, address=address, source="provider", confidence=1.0)


def _coordinate(form: dict[str, str], key: str, bound: float) -> float | None:
    if not form.get(key):
        return None
    try:
        value = float(form[key])
    except ValueError as exc:
        raise MalformedPayload(f"{key} is not a number") from exc
    if not -bound <= value <= bound:
        raise MalformedPayload(f"{key} is out of range")
    return value
