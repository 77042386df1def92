"""Helpers for the inbound-parse webhook tests: credentials, signatures, wrapped sample mail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import secrets
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "email_webhooks"
BASIC = "city:correct-horse-battery-staple"
MAILGUN_KEY = "fixture-mailgun-webhook-signing-key-not-real"


def basic_auth(credentials: str = BASIC) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def mailgun_signature(timestamp: str, token: str, key: str = MAILGUN_KEY) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def mailgun_signed(fields: dict[str, str], when: float | None = None) -> dict[str, str]:
    """``fields`` with a fresh timestamp, a new token and their signature."""
    timestamp = str(int(time.time() if when is None else when))
    token = secrets.token_hex(25)
    signature = mailgun_signature(timestamp, token)
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def sendgrid_manifest_form() -> aiohttp.FormData:
    manifest = json.loads((FIXTURES / "sendgrid_inbound_parse.json").read_text("utf-8"))
    form = aiohttp.FormData()
    for name, value in manifest["fields"].items():
        form.add_field(name, value)
    for f in manifest["files"]:
        data = base64.b64decode(f["content_base64"])
        form.add_field(f["field"], data, filename=f["filename"], content_type=f["content_type"])
    return form


def sendgrid_raw_form(raw: bytes) -> aiohttp.FormData:
    """A sample mail as SendGrid posts it with "Send Raw" on."""
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("envelope", json.dumps({"to": ["311@parse.city.example"], "from": "r@x.org"}))
    form.add_field("SPF", "pass")
    form.add_field("email", io.BytesIO(raw), content_type="text/plain")
    return form


def postmark_raw(raw: bytes) -> dict[str, Any]:
    """A sample mail as Postmark posts it with the raw message included."""
    return {
        "MessageID": hashlib.sha1(raw).hexdigest(),  # noqa: S324 - an id, not security.
        "OriginalRecipient": "311@inbound.city.example",
        "RawEmail": raw.decode("utf-8", "replace"),
    }


def stored_as_expected(status: int, stored: list[Any]) -> bool:
    """Sample mail is stored once, and either parsed (200) or flagged for staff (400)."""
    if len(stored) != 1:
        return False
    return (status, stored[0].state) in {(200, "received"), (400, "unparsed")}


def sample(path: Path) -> bytes:
    return path.read_bytes()
