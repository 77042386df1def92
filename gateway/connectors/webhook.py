"""Signed JSON webhook: POST each service request to a CRM's HTTPS endpoint.

The body is the record as ``gateway.record_json.request_to_dict`` shapes it, serialized as UTF-8
JSON (``Content-Type: application/json; charset=utf-8``). Every POST carries:

- ``X-Gateway-Signature: sha256=<hex>``: the HMAC-SHA256 of the exact body bytes, keyed with the
  shared secret (UTF-8) from the environment variable that ``secret_env`` names;
- ``X-Gateway-Timestamp``: when it was sent, in Unix seconds (informative, not signed);
- ``Idempotency-Key``: the same for every retry of one delivery.

To verify, a receiver computes ``hmac.new(secret, raw_body, hashlib.sha256).hexdigest()`` over
the raw bytes as received (before any JSON parsing), compares it with the header's value after
``sha256=`` using a constant-time comparison (``hmac.compare_digest``), and answers a second POST
with an ``Idempotency-Key`` it has already seen with the case it made the first time. A 2xx
answer may carry ``{"case_id": "..."}`` (or ``{"id": "..."}``); 400, 401, 403, 404 and 422 are
permanent failures, 429 and 5xx are retried (``Retry-After`` is honoured).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from channels._safe import same_secret
from gateway.connectors import register
from gateway.connectors._http import HTTP_OPTIONS, HttpConnector, snippet
from gateway.plugin import EnvVar, Text, http_url, table_keys
from gateway.record_json import request_to_dict
from gateway.records import CaseRef, ServiceRequest

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Gateway-Signature"
TIMESTAMP_HEADER = "X-Gateway-Timestamp"
JSON_TYPE = "application/json; charset=utf-8"


@register
class WebhookConnector(HttpConnector):
    """Any case system that accepts a signed JSON POST."""

    name = "webhook"
    required_options = ("url", "secret_env")
    known_options = table_keys(
        **HTTP_OPTIONS, url=Text(shape=http_url), secret_env=EnvVar("CASE_WEBHOOK_SECRET")
    )

    async def submit(self, request: ServiceRequest, idempotency_key: str) -> CaseRef:
        """POST the signed record; the receiver's case id, if it says one."""
        body = encode_body(request)
        headers = {
            "Content-Type": JSON_TYPE,
            "Accept": "application/json",
            SIGNATURE_HEADER: sign(self.secret("secret"), body),
            TIMESTAMP_HEADER: str(int(time.time())),
            "Idempotency-Key": idempotency_key,
        }
        reply = await self.request("POST", str(self.options["url"]), data=body, headers=headers)
        self.check_status(reply, describe_error)
        ref = CaseRef()
        if reply.body.strip():
            ref = parse_response(self.parse_json(reply))
        log.info(
            "connector.submitted",
            extra={
                "connector": self.name,
                "tracking_number": request.tracking_number,
                "case_id": ref.case_id,
            },
        )
        return ref


def encode_body(request: ServiceRequest) -> bytes:
    """The record as compact UTF-8 JSON with sorted keys: the bytes that are signed and sent."""
    data = request_to_dict(request)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, body: bytes) -> str:
    """The ``X-Gateway-Signature`` value for ``body``: ``sha256=`` and the hex HMAC."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body``: what a receiver runs."""
    # Any text may come in a header: compared as bytes, as compare_digest refuses non-ASCII str.
    return header is not None and same_secret(header.strip(), sign(secret, body))


def parse_response(data: Any) -> CaseRef:
    """``{"case_id": ...}`` or ``{"id": ...}`` as a ``CaseRef``; anything else names no case."""
    if isinstance(data, dict):
        case_id = data.get("case_id", data.get("id"))
        if case_id not in (None, ""):
            return CaseRef(case_id=str(case_id))
    return CaseRef()


def describe_error(body: bytes) -> str:
    """The receiver's error body as one line (``reason``/``message``/``error`` if it is JSON)."""
    try:
        data = json.loads(body)
    except ValueError:
        return snippet(body)
    if isinstance(data, dict):
        for key in ("reason", "message", "detail", "error", "description"):
            if data.get(key):
                return snippet(str(data[key]).encode())
    return snippet(body)
