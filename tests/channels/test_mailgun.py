"""Mailgun routes: signed with HMAC-SHA256 of timestamp + token; old or replayed tokens refused."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest

from gateway.runtime import Runtime
from tests.channels.conftest import EMAILS, inbound_rows
from tests.channels.email_webhooks import (
    FIXTURES,
    MAILGUN_KEY,
    mailgun_signature,
    mailgun_signed,
    stored_as_expected,
)
from tests.support import FORM, serve

PATH = "/webhooks/email/mailgun"
FIXTURE = FIXTURES / "mailgun_route.form"


@pytest.fixture
def channel_config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("MAILGUN_SIGNING_KEY", MAILGUN_KEY)
    table = {"enabled": True, "signing_key_env": "MAILGUN_SIGNING_KEY", "max_age_seconds": 300}
    return {"channels": {"mailgun": table}}


def fixture_fields() -> dict[str, str]:
    return dict(parse_qsl(FIXTURE.read_text("utf-8"), keep_blank_values=True))


def test_the_fixture_signature_is_mailguns_construction() -> None:
    fields = fixture_fields()
    assert mailgun_signature(fields["timestamp"], fields["token"]) == fields["signature"]


async def test_fixture_resigned_now_is_stored_once(runtime: Runtime) -> None:
    body = urlencode(mailgun_signed(fixture_fields()))
    async with serve(runtime) as client:
        response = await client.post(PATH, data=body, headers={"Content-Type": FORM})
        stored = await inbound_rows(runtime)
    assert response.status == 200
    message = stored[0].message
    assert stored[0].provider_id == "<CAJ3r0k4fXq8bT2=fixture-ro-20251014@mail.example.com>"
    assert message["sender"] == "ruth.okafor@example.com"
    assert "East St" in message["text"]
    assert message["subject"] == "Missed trash pickup - East St"


async def test_the_fixture_as_recorded_is_too_old_and_refused(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        response = await client.post(
            PATH, data=FIXTURE.read_bytes(), headers={"Content-Type": FORM}
        )
        stored = await inbound_rows(runtime)
    assert response.status == 403
    assert stored == []


async def test_a_replayed_token_is_refused_even_with_another_body(runtime: Runtime) -> None:
    signed = mailgun_signed(fixture_fields())
    forged = {**signed, "body-plain": "forged", "Message-Id": "<forged@example.org>"}
    async with serve(runtime) as client:
        first = await client.post(PATH, data=urlencode(signed), headers={"Content-Type": FORM})
        replay = await client.post(PATH, data=urlencode(forged), headers={"Content-Type": FORM})
        stored = await inbound_rows(runtime)
    assert (first.status, replay.status) == (200, 403)
    assert len(stored) == 1


async def test_mailguns_own_retry_of_a_request_is_stored_once_and_answered_again(
    runtime: Runtime,
) -> None:
    signed = urlencode(mailgun_signed(fixture_fields()))
    async with serve(runtime) as client:
        first = await client.post(PATH, data=signed, headers={"Content-Type": FORM})
        retry = await client.post(PATH, data=signed, headers={"Content-Type": FORM})
        stored = await inbound_rows(runtime)
    assert (first.status, retry.status) == (200, 200)
    assert len(stored) == 1


async def test_a_wrong_signature_is_403(runtime: Runtime) -> None:
    signed = {**mailgun_signed(fixture_fields()), "signature": "0" * 64}
    async with serve(runtime) as client:
        response = await client.post(PATH, data=urlencode(signed), headers={"Content-Type": FORM})
    assert response.status == 403


async def test_a_future_timestamp_is_refused(runtime: Runtime) -> None:
    signed = mailgun_signed(fixture_fields(), when=time.time() + 3600)
    async with serve(runtime) as client:
        response = await client.post(PATH, data=urlencode(signed), headers={"Content-Type": FORM})
    assert response.status == 403


@pytest.mark.parametrize("case", EMAILS, ids=lambda p: p.stem)
async def test_every_sample_mail_as_body_mime_is_stored_and_parsed_or_flagged(
    runtime: Runtime, case: Path
) -> None:
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in mailgun_signed({"recipient": "311@mg.city.example"}).items():
        form.add_field(name, value)
    form.add_field("body-mime", io.BytesIO(case.read_bytes()), content_type="text/plain")
    async with serve(runtime) as client:
        response = await client.post(PATH, data=form)
        stored = await inbound_rows(runtime)
    assert stored_as_expected(response.status, stored)
