"""Open311 GeoReport v2: file requests in a city's CRM and poll it for status changes.

Spec: http://wiki.open311.org/GeoReport_v2/ (POST Service Request, GET service_request_id from a
token, GET Service Requests). ``POST {endpoint}requests.json`` sends the request form-encoded
(``api_key``, ``jurisdiction_id``, ``service_code``, ``lat``/``long`` and ``address_string``, the
reporter's contact unless anonymous, ``description``, ``media_url``, ``attribute[code]=value`` and
``attribute[code][]=value`` for lists) with an ``Idempotency-Key`` header for CRMs that honour it.
The answer is an array holding a ``service_request_id`` (realtime services) or a ``token`` (batch
services; ``resolve_token`` turns it into the id later). Errors are an array of
``{"code", "description"}``, rendered into the failure's reason.

Core GeoReport v2 has no "updated since" filter (``start_date``/``end_date`` filter on
``requested_datetime``), so ``fetch_updates`` asks for the last ``lookback_days`` of requests and
keeps those whose ``updated_datetime`` is after ``since``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from gateway.connectors import register
from gateway.connectors._georeport import build_form, encode_form
from gateway.connectors._http import HTTP_OPTIONS, HttpConnector, HttpReply, snippet
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.plugin import EnvVar, Text, Whole, http_url, table_keys
from gateway.record_json import format_datetime, parse_datetime
from gateway.records import CaseRef, CaseUpdate, ServiceRequest

log = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
DEFAULT_LOOKBACK_DAYS = 90
DEFAULT_UNKNOWN_PLACE = "Location not given; see the description"
END_MARGIN = timedelta(hours=1)
_ACCEPT = {"Accept": "application/json"}


def _endpoint(value: str) -> str | None:
    if http_url(value) is None and value.endswith("/"):
        return None
    return f"must be an http(s) URL ending with '/', not {value!r}"


@register
class Open311Connector(HttpConnector):
    """A city CRM that speaks GeoReport v2 in JSON."""

    name = "open311"
    required_options = ("endpoint",)
    known_options = table_keys(
        **HTTP_OPTIONS,
        endpoint=Text(shape=_endpoint),
        # Empty: the CRM takes requests without a key.
        api_key_env=EnvVar(""),
        jurisdiction_id=Text(),
        unknown_place=Text(DEFAULT_UNKNOWN_PLACE),
        # For a request the gateway could not classify; empty: such a request is dead-lettered.
        default_service_code=Text(),
        lookback_days=Whole(DEFAULT_LOOKBACK_DAYS, maximum=90),
    )

    @property
    def endpoint(self) -> str:
        """The GeoReport v2 base URL, ending with ``/``."""
        return str(self.options["endpoint"])

    def _jurisdiction(self) -> dict[str, str]:
        """The ``jurisdiction_id`` argument, when the config names one."""
        jid = self.options.get("jurisdiction_id")
        return {"jurisdiction_id": str(jid)} if jid else {}

    async def submit(self, request: ServiceRequest, idempotency_key: str) -> CaseRef:
        """POST the request; the answer's id, or its token for a batch service."""
        service_code = request.service_code or self.options.get("default_service_code")
        if not service_code:
            raise PermanentDeliveryError("open311: the request has no service_code to file under")
        api_key = self.secret("api_key") if self.options.get("api_key_env") else None
        unknown = str(self.options.get("unknown_place", DEFAULT_UNKNOWN_PLACE))
        form = build_form(request, str(service_code), api_key, self._jurisdiction(), unknown)
        reply = await self.request(
            "POST",
            self.endpoint + "requests.json",
            data=encode_form(form).encode("utf-8"),
            headers={"Content-Type": FORM_TYPE, "Idempotency-Key": idempotency_key, **_ACCEPT},
        )
        self.check_status(reply, describe_errors)
        ref = parse_post_response(self.parse_json(reply), reply)
        log.info(
            "connector.submitted",
            extra={
                "connector": self.name,
                "tracking_number": request.tracking_number,
                "case_id": ref.case_id,
                "pending_token": ref.token is not None,
            },
        )
        return ref

    async def resolve_token(self, token: str) -> str | None:
        """The ``service_request_id`` a token stands for; None while the CRM has not made it."""
        reply = await self.request(
            "GET",
            f"{self.endpoint}tokens/{quote(token, safe='')}.json",
            params=self._jurisdiction(),
            headers=_ACCEPT,
        )
        if reply.status == 404:
            return None
        self.check_status(reply, describe_errors)
        entry = _first(self.parse_json(reply), reply)
        case_id = entry.get("service_request_id")
        return None if case_id is None or case_id == "" else str(case_id)

    async def fetch_updates(self, since: datetime) -> list[CaseUpdate]:
        """Requests of the last ``lookback_days`` updated after ``since``, oldest change first."""
        # The window ends a little ahead so a CRM whose clock runs fast still shows its newest.
        end = (datetime.now(UTC) + END_MARGIN).replace(microsecond=0)
        days = int(self.options.get("lookback_days", DEFAULT_LOOKBACK_DAYS))
        params = {
            "start_date": format_datetime(end - timedelta(days=days)),
            "end_date": format_datetime(end),
            **self._jurisdiction(),
        }
        reply = await self.request(
            "GET", self.endpoint + "requests.json", params=params, headers=_ACCEPT
        )
        self.check_status(reply, describe_errors)
        data = self.parse_json(reply)
        if not isinstance(data, list):
            raise TransientDeliveryError(
                f"open311: GET requests.json answered {snippet(reply.body)!r}, not an array",
                status=reply.status,
            )
        return parse_updates(data, since)


def describe_errors(body: bytes) -> str:
    """A GeoReport error array as one line: ``description (code); ...``; else the body's start."""
    try:
        data = json.loads(body)
    except ValueError:
        return snippet(body)
    items = data if isinstance(data, list) else [data]
    parts = [
        f"{item.get('description') or item.get('error') or '?'} (code {item.get('code', '?')})"
        for item in items
        if isinstance(item, dict)
    ]
    return "; ".join(parts) if parts else snippet(body)


def parse_post_response(data: Any, reply: HttpReply) -> CaseRef:
    """The POST answer as a ``CaseRef``; an error array served with a 2xx is still an error."""
    entry = _first(data, reply)
    case_id = entry.get("service_request_id")
    token = entry.get("token")
    if case_id not in (None, ""):
        return CaseRef(case_id=str(case_id))
    if token not in (None, ""):
        return CaseRef(token=str(token))
    if "code" in entry and "description" in entry:
        raise PermanentDeliveryError(
            f"open311 answered HTTP {reply.status} with an error: {describe_errors(reply.body)}",
            status=reply.status,
        )
    # A "blackbox" service acknowledges without an id or a token.
    return CaseRef()


def parse_updates(data: list[Any], since: datetime) -> list[CaseUpdate]:
    """The requests in a GET requests.json answer that changed after ``since``."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    updates = []
    for item in data:
        if not isinstance(item, dict) or item.get("service_request_id") in (None, ""):
            continue
        stamp = item.get("updated_datetime") or item.get("requested_datetime")
        try:
            updated_at = parse_datetime(str(stamp)) if stamp else None
        except ValueError:
            log.warning("open311.bad_datetime", extra={"case_id": item["service_request_id"]})
            continue
        if updated_at is None or updated_at <= since or not item.get("status"):
            continue
        note = item.get("status_notes")
        updates.append(
            CaseUpdate(
                case_id=str(item["service_request_id"]),
                status=str(item["status"]),
                note=str(note) if note else None,
                updated_at=updated_at,
            )
        )
    return sorted(updates, key=lambda u: u.updated_at or since)


def _first(data: Any, reply: HttpReply) -> dict[str, Any]:
    """The first object of a GeoReport JSON array (or a bare object); ``{}`` for an empty array."""
    if isinstance(data, list):
        data = data[0] if data else {}
    if not isinstance(data, dict):
        raise TransientDeliveryError(
            f"open311 answered HTTP {reply.status} with {snippet(reply.body)!r}, not an array",
            status=reply.status,
        )
    return data
