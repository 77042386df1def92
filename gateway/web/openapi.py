"""``GET /openapi.json``: an OpenAPI 3.1 description of the gateway's own HTTP API.

Webhooks (one per channel), health, readiness and metrics, the resident pages and the Open311
GeoReport v2 server. Built from small helpers so that one path is one line to keep up to date.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

import channels

FORM = "application/x-www-form-urlencoded"
_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
    "required": ["error", "reason"],
}
_OPEN311_ERRORS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "code": {"type": ["integer", "string"]},
            "description": {"type": "string"},
        },
    },
}
_FORMAT = {
    "name": "format",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["json", "xml"]},
}
_JURISDICTION = {"name": "jurisdiction_id", "in": "query", "schema": {"type": "string"}}


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": "string"}}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _op(summary: str, responses: dict[str, str], **more: Any) -> dict[str, Any]:
    described = {code: {"description": text} for code, text in responses.items()}
    return {"summary": summary, "responses": described, **more}


def _form_body(description: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {FORM: {"schema": {"type": "object"}}},
        "description": description,
    }


def _open311(summary: str, params: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    operation = _op(
        summary,
        {"200": "the spec's body", "400": "spec error array", "404": "unknown resource"},
        parameters=[_FORMAT, _JURISDICTION, *params],
        tags=["Open311 GeoReport v2"],
        **more,
    )
    for code in ("400", "403", "404"):
        if code in operation["responses"]:
            operation["responses"][code]["content"] = {
                "application/json": {"schema": _OPEN311_ERRORS}
            }
    return operation


def _webhooks() -> dict[str, Any]:
    # The routes of channels as registered; a channel received by another front has none.
    paths: dict[str, Any] = {}
    for name, cls in sorted(channels.load_all().items()):
        if cls.route is None:
            continue
        body = {"content": {t: {"schema": {"type": "object"}} for t in cls.content_types}}
        operation = _op(
            f"{name} webhook: verify, parse, store, acknowledge",
            {
                "200": "stored (or a retry of a stored message)",
                "400": "malformed",
                "403": "bad signature",
                "413": "too large",
                "415": "wrong content type",
                "503": "could not be stored; retry",
            },
            tags=["Webhooks"],
            requestBody=body,
        )
        operation["responses"]["400"]["content"] = {"application/json": {"schema": _ERROR}}
        paths[cls.route] = {m.lower(): operation for m in cls.methods if m != "GET"}
        if "GET" in cls.methods:
            paths[cls.route]["get"] = _op(
                f"{name} verification: the provider's challenge (X's CRC, Meta's hub.challenge)"
                ", answered, nothing stored",
                {"200": "the challenge's answer", "400": "no challenge", "403": "wrong token"},
                tags=["Webhooks"],
            )
    return paths


def _operations() -> dict[str, Any]:
    return {
        "/healthz": {"get": _op("liveness", {"200": "the process answers"}, tags=["Operations"])},
        "/readyz": {
            "get": _op(
                "readiness",
                {"200": "ready", "503": "database or schema not ready"},
                tags=["Operations"],
            )
        },
        "/metrics": {
            "get": _op("Prometheus metrics", {"200": "text exposition"}, tags=["Operations"])
        },
        "/openapi.json": {"get": _op("this document", {"200": "OpenAPI 3.1"}, tags=["Operations"])},
    }


def _residents() -> dict[str, Any]:
    return {
        "/report": {
            "get": _op("the web form (HTML; ?lang=en|es)", {"200": "HTML"}, tags=["Residents"]),
            "post": _op(
                "submit the form (multipart/form-data, CSRF token, honeypot)",
                {
                    "303": "to the status page",
                    "400": "form with errors",
                    "403": "CSRF token refused",
                    "413": "photo too large",
                    "429": "rate limited",
                },
                tags=["Residents"],
            ),
        },
        "/report/suggest": {
            "get": _op(
                "suggested services for a description (JSON)",
                {"200": "top services"},
                parameters=[_query("text", "the description"), _query("lang", "en or es")],
                tags=["Residents"],
            )
        },
        "/requests/{tracking_number}": {
            "get": _op(
                "status page (HTML)",
                {"200": "HTML", "404": "unknown"},
                parameters=[_path("tracking_number")],
                tags=["Residents"],
            )
        },
        "/history": {
            "get": _op(
                "ask for a one-time link or code (HTML)", {"200": "HTML"}, tags=["Residents"]
            ),
            "post": _op(
                "send a link (email) or a code (SMS)",
                {"200": "HTML", "429": "rate limited"},
                tags=["Residents"],
            ),
        },
        "/history/code": {
            "post": _op(
                "enter the code: every request on any channel",
                {"200": "HTML", "403": "wrong or expired code"},
                tags=["Residents"],
            )
        },
        "/history/link/{token}": {
            "get": _op(
                "confirm a one-time link",
                {"200": "HTML"},
                parameters=[_path("token")],
                tags=["Residents"],
            ),
            "post": _op(
                "use the link: every request on any channel",
                {"200": "HTML", "403": "used or expired"},
                parameters=[_path("token")],
                tags=["Residents"],
            ),
        },
    }


def _open311_paths() -> dict[str, Any]:
    base = "/open311/v2"
    search = [
        _query("service_request_id", "comma-separated ids; overrides the other filters"),
        _query("service_code", "comma-separated service codes"),
        _query("start_date", "W3C date-time; filters requested_datetime"),
        _query("end_date", "W3C date-time; at most 90 days after start_date"),
        _query("status", "open or closed (comma-separated)"),
        _query("page", "page number from 1, newest requests first"),
        _query("page_size", "requests per page, up to the server's max_requests (1000)"),
    ]
    post = _open311(
        "file a service request (api_key required)",
        [],
        requestBody=_form_body("api_key, service_code, lat/long or address_string, attribute[]"),
    )
    post["responses"]["403"] = {"description": "invalid api_key"}
    post["parameters"].append(
        {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
    )
    return {
        "/open311/discovery.{format}": {"get": _open311("service discovery", [])},
        f"{base}/services.{{format}}": {"get": _open311("service list", [])},
        f"{base}/services/{{service_code}}.{{format}}": {
            "get": _open311("service definition", [_path("service_code")])
        },
        f"{base}/requests.{{format}}": {"get": _open311("search requests", search), "post": post},
        f"{base}/requests/{{service_request_id}}.{{format}}": {
            "get": _open311("one request", [_path("service_request_id")])
        },
        f"{base}/tokens/{{token}}.{{format}}": {
            "get": _open311("token to service_request_id", [_path("token")])
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    paths = {**_operations(), **_residents(), **_open311_paths(), **_webhooks()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "311 intake gateway", "version": "0.1.0"},
        "paths": paths,
    }


async def openapi_view(request: web.Request) -> web.Response:
    """The document, as JSON."""
    return web.json_response(document())
