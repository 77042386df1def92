"""GeoReport v2 rules the fake CRM enforces: form fields, POST validation, dates, the request view.

Spec: http://wiki.open311.org/GeoReport_v2/ and ``../shared/fixtures/open311/README.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
# W3C datetime as the spec requires it: a full date and time with Z or an offset.
W3C = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
INVALID_KEY = "Invalid api_key received -- can't proceed with create_request."
Reply = tuple[int, bytes, dict[str, str]]


def error_body(status: int | str, description: str) -> bytes:
    """A GeoReport error array with one error."""
    return json.dumps([{"code": status, "description": description}]).encode()


def respond(reply: Reply) -> web.Response:
    """A reply as a JSON response with its extra headers."""
    status, body, headers = reply
    headers = {"Content-Type": "application/json; charset=utf-8", **headers}
    return web.Response(status=status, body=body, headers=headers)


def error_response(status: int, description: str) -> web.Response:
    """A GeoReport error answer with one error."""
    return respond((status, error_body(status, description), {}))


def form_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs as a dict: ``key[]`` keys (multivaluelist attributes) collect a list."""
    fields: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            fields.setdefault(key, []).append(value)
        else:
            fields[key] = value
    return fields


def post_errors(
    fields: dict[str, Any], api_key: str | None, jurisdiction_id: str | None
) -> Reply | None:
    """The error answer the spec gives for a bad POST Service Request, or None when it is fine."""
    if api_key is not None and fields.get("api_key") != api_key:
        return 403, error_body(403, INVALID_KEY), {}
    if jurisdiction_id is not None and fields.get("jurisdiction_id") != jurisdiction_id:
        found = fields.get("jurisdiction_id")
        return 404, error_body(404, f"jurisdiction_id {found} was not found"), {}
    errors = []
    if not fields.get("service_code"):
        errors.append({"code": 400, "description": "service_code was not provided"})
    has_point = fields.get("lat") and fields.get("long")
    if not (has_point or fields.get("address_string") or fields.get("address_id")):
        errors.append(
            {
                "code": 400,
                "description": "A full location parameter must be submitted: "
                "lat & long, address_string or address_id",
            }
        )
    for key in ("lat", "long"):
        if fields.get(key) and not _is_float(fields[key]):
            errors.append({"code": 400, "description": f"{key} is not a number"})
    return (400, json.dumps(errors).encode(), {}) if errors else None


def parse_w3c(text: str, name: str) -> datetime:
    """A W3C datetime argument; ``ValueError`` naming the argument when it is not one."""
    if not W3C.fullmatch(text):
        raise ValueError(f"{name} must be a W3C datetime with a time zone, not {text!r}")
    return datetime.fromisoformat(text)


def in_window(created: datetime, start: str | None, end: str | None) -> bool:
    """Whether ``created`` (requested_datetime) lies within ``start_date``..``end_date``."""
    if start and created < parse_w3c(start, "start_date"):
        return False
    return not (end and created > parse_w3c(end, "end_date"))


def w3c(value: datetime) -> str:
    """A datetime as the fake answers it: UTC with ``Z``, whole seconds kept as given."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def case_view(
    case_id: str,
    fields: dict[str, Any],
    status: str,
    notes: str | None,
    requested: str,
    updated: str,
) -> dict[str, Any]:
    """A case as GET requests.json shows it, from a GeoReport form or a webhook record."""
    loc = fields.get("location") if isinstance(fields.get("location"), dict) else {}
    assert isinstance(loc, dict)
    lat = fields.get("lat", loc.get("lat"))
    long = fields.get("long", loc.get("long"))
    return {
        "service_request_id": case_id,
        "status": status,
        "status_notes": notes,
        "service_name": fields.get("service_name"),
        "service_code": fields.get("service_code"),
        "description": fields.get("description"),
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": requested,
        "updated_datetime": updated,
        "expected_datetime": None,
        "address": fields.get("address_string") or loc.get("address"),
        "address_id": fields.get("address_id"),
        "zipcode": loc.get("zipcode"),
        "lat": float(lat) if lat is not None else None,
        "long": float(long) if long is not None else None,
        "media_url": fields.get("media_url"),
    }


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
