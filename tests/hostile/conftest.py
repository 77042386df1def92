"""Hostile-input tests: every endpoint of the real app on loopback, with every channel on.

The web form, Open311 server, Mailgun, Postmark, SendGrid, Twilio and the case-status webhook
are served together on SQLite (and PostgreSQL when ``TEST_DATABASE_URL`` is set), so that one
hostile request can be aimed at any of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.runtime import Runtime
from tests.channels.email_webhooks import BASIC, MAILGUN_KEY
from tests.gateway.web.support import form_overrides, open311_overrides
from tests.support import make_settings, merge, serve

STATUS_SECRET = "case_status_secret_not_real_0000"


def hostile_overrides(root: Path) -> dict[str, Any]:
    """Every channel with a webhook on, the form and the Open311 server, and the status hook."""
    channels = {
        "mailgun": {"enabled": True, "signing_key_env": "MAILGUN_SIGNING_KEY"},
        "postmark": {"enabled": True, "basic_auth_env": "POSTMARK_INBOUND_AUTH"},
        "sendgrid": {"enabled": True, "basic_auth_env": "SENDGRID_INBOUND_AUTH"},
        "smtp": {"enabled": True, "domains": ["localhost", "city.example"]},
    }
    return merge(
        merge(open311_overrides(root), form_overrides(root)),
        {
            "channels": channels,
            "status_webhook": {"enabled": True, "secret_env": "CASE_STATUS_SECRET"},
            "notifiers": {"email": {"enabled": True, "from_address": "311@city.example"}},
        },
    )


@pytest.fixture
def hostile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILGUN_SIGNING_KEY", MAILGUN_KEY)
    monkeypatch.setenv("POSTMARK_INBOUND_AUTH", BASIC)
    monkeypatch.setenv("SENDGRID_INBOUND_AUTH", BASIC)
    monkeypatch.setenv("CASE_STATUS_SECRET", STATUS_SECRET)


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str, hostile_env: None) -> Runtime:
    return Runtime(make_settings(tmp_path, database_url, hostile_overrides(tmp_path)))


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient[Any, Any]]:
    async with serve(runtime) as served:
        yield served
