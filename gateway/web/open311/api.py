"""Open311 GeoReport v2 server at ``/open311/v2/``: services, definitions, requests, tokens.

Spec: http://wiki.open311.org/GeoReport_v2/. Every path ends in ``.json`` or ``.xml``; errors are
the spec's ``[{"code", "description"}]`` array with 400, 403 or 404. A request's
``service_request_id`` is its gateway tracking number. ``jurisdiction_id`` is optional (one city
per gateway) but, when the config names one, any other value is a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from channels._safe import ascii_digits
from gateway.config.web import Open311Settings
from gateway.media import media_link
from gateway.runtime import Runtime
from gateway.store.request_views import RequestFilter, inbound_id_for
from gateway.web.open311.format import Open311Error, error_response, respond, w3c
from gateway.web.open311.services import definition, read_extras, service_entry
from gateway.web.views import RequestView, by_tracking_number, matching

BASE = "/open311/v2"
SPEC = "http://wiki.open311.org/GeoReport_v2"
# A page beyond this holds nothing anyway; the cap keeps the SQL offset a small integer.
_MAX_PAGE = 1_000_000
_FIRST, _LAST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def spec_errors(handler: Handler) -> Handler:
    """Answer an ``Open311Error`` in the spec's shape and the path's format."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Open311Error as exc:
            return error_response(request.match_info.get("format", "json"), exc)

    return wrapped


class Open311Api:
    """The read side of the GeoReport server; ``Open311Post`` files requests."""

    def __init__(self, runtime: Runtime, settings: Open311Settings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.extras = read_extras(runtime.settings.catalog_path)
        self._public_url = runtime.settings.server.public_url

    def check_jurisdiction(self, params: Mapping[str, str]) -> None:
        """404 for a jurisdiction this gateway does not serve."""
        given = params.get("jurisdiction_id", "")
        if given and self.settings.jurisdiction_id and given != self.settings.jurisdiction_id:
            raise Open311Error(404, (404, f"jurisdiction_id {given} was not found"))

    async def discovery(self, request: web.Request) -> web.Response:
        base = str(request.url.with_path(BASE + "/").with_query(None))
        endpoint = {
            "specification": SPEC,
            "url": base,
            "changeset": w3c(datetime(2026, 1, 1, tzinfo=UTC)),
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }
        body = {"changeset": endpoint["changeset"], "contact": "", "key_service": "",
                "endpoints": [endpoint]}  # fmt: skip
        return respond(request.match_info["format"], "discovery", body)

    async def services(self, request: web.Request) -> web.Response:
        self.check_jurisdiction(request.query)
        types = self.settings.service_types
        body = [
            service_entry(s, types.get(s.code, "realtime")) for s in self.runtime.catalog.values()
        ]
        return respond(request.match_info["format"], "services", body)

    async def service_definition(self, request: web.Request) -> web.Response:
        self.check_jurisdiction(request.query)
        code = request.match_info["code"]
        service = self.runtime.catalog.get(code)
        if service is None:
            raise Open311Error(404, (404, f"service_code {code} was not found"))
        body = definition(service, self.extras)
        return respond(request.match_info["format"], "service_definition", body)

    async def token(self, request: web.Request) -> web.Response:
        self.check_jurisdiction(request.query)
        token = request.match_info["token"]
        async with self.runtime.engine.connect() as conn:
            inbound_id = await inbound_id_for(conn, "open311", token)
        if inbound_id is None:
            raise Open311Error(404, (404, f"token {token} was not found"))
        # The tracking number is fixed when the report is stored: it is the id already.
        body = [{"service_request_id": self.runtime.tracking_number(inbound_id), "token": token}]
        return respond(request.match_info["format"], "service_requests", body)

    async def one_request(self, request: web.Request) -> web.Response:
        self.check_jurisdiction(request.query)
        number = request.match_info["id"]
        async with self.runtime.engine.connect() as conn:
            view = await by_tracking_number(conn, number)
        if view is None:
            raise Open311Error(404, (404, f"service_request_id {number} was not found"))
        return respond(
            request.match_info["format"], "service_requests", [entry(view, self._public_url)]
        )

    async def requests(self, request: web.Request) -> web.Response:
        self.check_jurisdiction(request.query)
        page, size = self._page(request.query)
        wanted = self._filter(request.query)
        async with self.runtime.engine.connect() as conn:
            views = await matching(conn, wanted, size, (page - 1) * size)
        return respond(
            request.match_info["format"],
            "service_requests",
            [entry(v, self._public_url) for v in views],
        )

    def _page(self, q: Mapping[str, str]) -> tuple[int, int]:
        """``page`` (from 1) and ``page_size`` (up to max_requests), as Open311 servers such as
        Chicago's and SeeClickFix's take them; the spec itself only caps the answer."""
        cap = self.settings.max_requests
        # ASCII digits only: "١٢" and "²" pass str.isdigit() but are no page number.
        page = ascii_digits(q.get("page", "1").strip())
        size = ascii_digits(q.get("page_size", str(cap)).strip())
        if page is None or not 1 <= page <= _MAX_PAGE:
            raise Open311Error(400, (400, "page must be a whole number from 1"))
        if size is None or not 1 <= size <= cap:
            raise Open311Error(400, (400, f"page_size must be a whole number from 1 to {cap}"))
        return page, size

    def _filter(self, q: Mapping[str, str]) -> RequestFilter:
        if ids := _list(q.get("service_request_id", "")):
            # The spec: a list of ids overrides every other filter.
            return RequestFilter(tracking_numbers=tuple(ids))
        start, end = self._span(q)
        codes = tuple(_list(q.get("service_code", "")))
        statuses = set(_list(q.get("status", "")))
        if statuses - {"open", "closed"}:
            raise Open311Error(400, (400, "status must be open or closed"))
        # Both, or neither, is no filter at all.
        closed = statuses == {"closed"} if len(statuses) == 1 else None
        return RequestFilter(start=start, end=end, service_codes=codes, closed=closed)

    def _span(self, q: Mapping[str, str]) -> tuple[datetime, datetime]:
        days = timedelta(days=self.settings.max_days)
        start, end = parse_w3c(q, "start_date"), parse_w3c(q, "end_date")
        if start is None and end is None:
            end = datetime.now(UTC)
        if start is None:
            assert end is not None  # noqa: S101 - both None was handled above
            start = end - days if end - _FIRST > days else _FIRST
        if end is None:
            # Near year 9999 a day more is beyond the calendar: the span ends at its last moment.
            end = start + days if _LAST - start > days else _LAST
        if end < start:
            raise Open311Error(400, (400, "end_date is before start_date"))
        if end - start > days:
            raise Open311Error(
                400, (400, f"start_date to end_date spans more than {days.days} days")
            )
        return start, end


def parse_w3c(params: Mapping[str, str], key: str) -> datetime | None:
    """A W3C date-time with a zone (or a plain date, taken as UTC midnight); 400 otherwise."""
    text = params.get(key, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
        # Year 1 or 9999 with an offset may not be representable in UTC: compared, it overflows.
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        moment = None
    date_only = len(text) == 10
    if moment is None or (moment.tzinfo is None and not date_only):
        raise Open311Error(
            400, (400, f"{key} must be a W3C date-time with a zone, e.g. 2025-10-14T09:02:41Z")
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entry(view: RequestView, public_url: str = "") -> dict[str, Any]:
    """One request in the spec's ``GET requests`` shape and field order."""
    r = view.request
    loc = r.location
    media = next((link for m in r.media if (link := media_link(m, public_url))), None)
    return {
        "service_request_id": r.tracking_number,
        "status": view.open311_status,
        "status_notes": view.latest_note,
        "service_name": r.service_name,
        "service_code": r.service_code,
        "description": r.description,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": w3c(r.received_at),
        "updated_datetime": w3c(r.updated_at or r.received_at),
        "expected_datetime": None,
        "address": loc.address if loc else None,
        "address_id": None,
        "zipcode": loc.zipcode if loc else None,
        "lat": loc.lat if loc else None,
        "long": loc.long if loc else None,
        "media_url": media,
    }


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
