"""GeoReport v2 ``POST requests``: API key, validation against the catalog, then the ingest path.

The body goes through the ingest core like any channel's (unique per channel and token), minus
the API key, and the intake normalizes and delivers it. ``Idempotency-Key`` (optional) makes a
retried POST return the first answer instead of filing twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from channels import ChannelContext, WebhookRequest
from channels.open311 import TOKEN_HEADER, Open311, attributes, form_pairs
from gateway.errors import IngestError, MalformedPayload, StorageUnavailable
from gateway.ingest.http import public_url
from gateway.records import Service, ServiceAttribute
from gateway.web.keys import key_name
from gateway.web.open311.api import Open311Api
from gateway.web.open311.format import Open311Error, respond

FORM = "application/x-www-form-urlencoded"
LOCATION_MISSING = (
    "A full location parameter must be submitted: lat & long, address_string or address_id"
)
_IDEMPOTENCY = uuid.UUID("9b4c2f1e-5d0a-4e8b-8f7c-3a1d6e2b9c40")


class Open311Post:
    def __init__(self, api: Open311Api) -> None:
        self.api = api
        settings = api.runtime.settings
        self.channel = Open311({}, ChannelContext(settings.city_name, settings.message))

    async def handle(self, request: web.Request) -> web.Response:
        fmt = request.match_info["format"]
        if request.content_type != FORM:
            raise Open311Error(400, (400, f"the body must be {FORM}"))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise Open311Error(400, (400, "the request body is too large")) from exc
        try:
            pairs = form_pairs(body)
        except MalformedPayload as exc:
            raise Open311Error(400, (400, exc.reason)) from exc
        form = dict(pairs)
        name = await key_name(self.api.runtime.engine, form.get("api_key", ""))
        if name is None:
            raise Open311Error(
                403, (403, "Invalid api_key received -- can't proceed with create_request.")
            )
        self.api.check_jurisdiction(form)
        service = self._validate(form, pairs)
        token = _token(name, request.headers.get("Idempotency-Key", ""))
        number = await self._store(request, [p for p in pairs if p[0] != "api_key"], token, name)
        kind = self.api.settings.service_types.get(service.code, "realtime")
        answer: dict[str, str | None] = {}
        if kind == "realtime":
            answer["service_request_id"] = number
        elif kind == "batch":
            answer["token"] = token
        answer |= {"service_notice": None, "account_id": None}
        return respond(fmt, "service_requests", [answer])

    def _validate(self, form: dict[str, str], pairs: list[tuple[str, str]]) -> Service:
        code = form.get("service_code", "")
        if not code:
            raise Open311Error(400, (400, "service_code was not provided"))
        service = self.api.runtime.catalog.get(code)
        if service is None:
            raise Open311Error(404, (404, f"service_code {code} was not found"))
        errors: list[tuple[int | str, str]] = []
        has_point = bool(form.get("lat") and form.get("long"))
        has_place = has_point or form.get("address_string") or form.get("address_id")
        if service.location_required and not has_place:
            errors.append((400, LOCATION_MISSING))
        for key in ("lat", "long"):
            if form.get(key) and not _is_number(form[key]):
                errors.append((400, f"{key} must be a number"))
        if len(form.get("description", "")) > 4000:
            errors.append((400, "description is longer than 4000 characters"))
        given = attributes(pairs)
        for attribute in service.attributes:
            errors += _attribute_errors(service, attribute, given.get(attribute.code))
        if errors:
            raise Open311Error(400, *errors)
        return service

    async def _store(
        self, request: web.Request, pairs: list[tuple[str, str]], token: str, name: str
    ) -> str:
        body = urlencode(pairs).encode("utf-8")
        url = public_url(request, self.api.runtime.settings.server)
        headers = {"content-type": FORM, TOKEN_HEADER.lower(): token, "x-open311-api-key": name}
        try:
            stored = await self.api.runtime.ingest.take(
                self.channel, WebhookRequest("POST", url, headers, body)
            )
        except StorageUnavailable as exc:
            raise Open311Error(503, (503, "the request could not be stored; try again")) from exc
        except IngestError as exc:
            raise Open311Error(400, (400, exc.reason)) from exc
        return stored[0].tracking_number


def _attribute_errors(
    service: Service, attribute: ServiceAttribute, value: str | list[str] | None
) -> list[tuple[int | str, str]]:
    label = f"attribute[{attribute.code}]"
    values = [value] if isinstance(value, str) else list(value or [])
    values = [v for v in values if v.strip()]
    if not values:
        if attribute.required:
            return [("ATTR_REQUIRED", f"{label} is required for service_code {service.code}")]
        return []
    keys = {v.key for v in attribute.values}
    problems: list[tuple[int | str, str]] = []
    if attribute.datatype.endswith("valuelist"):
        if attribute.datatype == "singlevaluelist" and len(values) > 1:
            problems.append(("ATTR_INVALID", f"{label} takes one value"))
        problems += [
            ("ATTR_INVALID", f"{label}: {v!r} is not a choice") for v in values if v not in keys
        ]
    elif attribute.datatype == "number" and not all(_is_number(v) for v in values):
        problems.append(("ATTR_INVALID", f"{label} must be a number"))
    elif attribute.datatype == "datetime" and not all(_is_datetime(v) for v in values):
        problems.append(("ATTR_INVALID", f"{label} must be an ISO 8601 date-time"))
    return problems


def _token(key_name: str, idempotency_key: str) -> str:
    if idempotency_key:
        return uuid.uuid5(_IDEMPOTENCY, f"{key_name}\n{idempotency_key}").hex
    return uuid.uuid4().hex


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
