"""``POST /webhooks/case-status``: a case system tells the gateway a case changed.

The body is JSON ``{"case_id" | "tracking_number", "status", "note"?, "updated_at"?}`` signed as
``X-Gateway-Signature: sha256=<hex HMAC-SHA256 of the body>`` with the key in the environment
variable ``[status_webhook] secret_env`` names (the scheme the ``webhook`` connector signs with).
The change, its history entry and the resident's notification are one transaction; a repeated
call for the same status changes nothing and notifies no one twice.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from channels._safe import load_json, one_line
from gateway.config.settings import Settings
from gateway.connectors.webhook import verify
from gateway.errors import (
    BadSignature,
    MalformedPayload,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from gateway.outbox.sync import change_status
from gateway.records import CaseUpdate, ServiceRequest
from gateway.store import requests

ROUTE = "/webhooks/case-status"
_LIMIT = 65536


class StatusWebhook:
    """The handler; answers in the gateway's error shape through the errors middleware."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    async def handle(self, request: web.Request) -> web.Response:
        body = await _body(request)
        secret = os.environ.get(self.settings.status_webhook_secret_env, "")
        if not secret or not verify(secret, body, request.headers.get("X-Gateway-Signature")):
            raise BadSignature("X-Gateway-Signature does not match")
        data = _parse(body)
        update = CaseUpdate(
            case_id=one_line(str(data.get("case_id") or data.get("tracking_number"))),
            status=one_line(str(data["status"])),
            note=str(data["note"]) if data.get("note") else None,
            updated_at=_when(data.get("updated_at")),
        )
        async with self.engine.begin() as conn:
            found = await _find(conn, data)
            if found is None:
                raise NotFound(f"no request for {update.case_id!r}")
            changed = await change_status(conn, self.settings, found, update, "status_webhook")
        return web.json_response({"tracking_number": found.tracking_number, "changed": changed})


async def _body(request: web.Request) -> bytes:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    if (request.content_length or 0) > _LIMIT:
        raise PayloadTooLarge(f"body exceeds {_LIMIT} bytes")
    body = await request.content.read(_LIMIT + 1)
    if len(body) > _LIMIT:
        raise PayloadTooLarge(f"body exceeds {_LIMIT} bytes")
    return body


def _parse(body: bytes) -> dict[str, Any]:
    # Every string in it is made valid text here (load_json): a note a page cannot render is
    # never stored.
    data = load_json(body)
    if not isinstance(data, dict) or not data.get("status"):
        raise MalformedPayload("status is required")
    if not (data.get("case_id") or data.get("tracking_number")):
        raise MalformedPayload("case_id or tracking_number is required")
    return data


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        # A time at the edge of the calendar must survive the move to UTC and back.
        moment.astimezone(UTC).astimezone()
        return moment
    except (ValueError, OverflowError) as exc:
        raise MalformedPayload("updated_at is not an ISO 8601 time") from exc


async def _find(conn: Any, data: dict[str, Any]) -> ServiceRequest | None:
    if data.get("tracking_number"):
        return await requests.get_by_tracking_number(conn, str(data["tracking_number"]))
    return await requests.get_by_case_id(conn, str(data["case_id"]))
