"""SendGrid Inbound Parse: the shared fixture, basic auth, and every sample mail sent raw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.channels.conftest import EMAILS, inbound_rows
from tests.channels.email_webhooks import (
    BASIC,
    basic_auth,
    sendgrid_manifest_form,
    sendgrid_raw_form,
    stored_as_expected,
)
from tests.support import serve

PATH = "/webhooks/email/sendgrid"


@pytest.fixture
def channel_config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("SENDGRID_INBOUND_AUTH", BASIC)
    table = {"enabled": True, "basic_auth_env": "SENDGRID_INBOUND_AUTH"}
    return {"channels": {"sendgrid": table}}


async def test_fixture_is_parsed_with_photo_and_verdicts(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        first = await client.post(PATH, data=sendgrid_manifest_form(), headers=basic_auth())
        retry = await client.post(PATH, data=sendgrid_manifest_form(), headers=basic_auth())
        stored = await inbound_rows(runtime)
    assert (first.status, retry.status) == (200, 200)
    assert len(stored) == 1
    message = stored[0].message
    assert stored[0].provider_id == "<CAF7q2mT0xGk3b9v=fixture-dw-20251014@mail.example.com>"
    assert message["sender"] == "dana.whitfield@example.com"
    assert message["subject"] == "Tree limb down on Liberty St - blocking sidewalk"
    assert "26 Liberty St" in message["text"]
    assert [m["content_type"] for m in message["media"]] == ["image/jpeg"]
    assert message["media"][0]["size"] > 0 and len(message["media"][0]["sha256"]) == 64
    assert message["extra"]["spf"] == "pass" and message["extra"]["dkim"] == "pass"
    assert "auto" not in message["extra"]


@pytest.mark.parametrize("credentials", ["city:wrong", None], ids=["wrong", "missing"])
async def test_bad_or_missing_basic_auth_is_403_and_stores_nothing(
    runtime: Runtime, credentials: str | None
) -> None:
    headers = basic_auth(credentials) if credentials else {}
    async with serve(runtime) as client:
        response = await client.post(PATH, data=sendgrid_manifest_form(), headers=headers)
        stored = await inbound_rows(runtime)
    assert response.status == 403
    assert stored == []


@pytest.mark.parametrize("case", EMAILS, ids=lambda p: p.stem)
async def test_every_sample_mail_sent_raw_is_stored_and_parsed_or_flagged(
    runtime: Runtime, case: Path
) -> None:
    async with serve(runtime) as client:
        form = sendgrid_raw_form(case.read_bytes())
        response = await client.post(PATH, data=form, headers=basic_auth())
        stored = await inbound_rows(runtime)
    assert stored_as_expected(response.status, stored)
