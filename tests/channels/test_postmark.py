"""Postmark inbound: the shared fixture, basic auth, and every sample mail as RawEmail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.channels.conftest import EMAILS, inbound_rows
from tests.channels.email_webhooks import (
    BASIC,
    FIXTURES,
    basic_auth,
    postmark_raw,
    stored_as_expected,
)
from tests.support import serve

PATH = "/webhooks/email/postmark"
FIXTURE = FIXTURES / "postmark_inbound.json"


@pytest.fixture
def channel_config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("POSTMARK_INBOUND_AUTH", BASIC)
    table = {"enabled": True, "basic_auth_env": "POSTMARK_INBOUND_AUTH"}
    return {"channels": {"postmark": table}}


def post_headers(credentials: str = BASIC) -> dict[str, str]:
    return {**basic_auth(credentials), "Content-Type": "application/json"}


async def test_fixture_reply_carries_its_thread_hints_and_photo(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        for _ in range(2):
            response = await client.post(PATH, data=FIXTURE.read_bytes(), headers=post_headers())
            assert response.status == 200
        stored = await inbound_rows(runtime)
    assert len(stored) == 1
    message = stored[0].message
    assert stored[0].provider_id == "<CAK9fLm2v7Qe3=fixture-la-20251014@mail.example.com>"
    assert message["sender"] == "luis.alvarado@example.com"
    assert message["thread"]["plus_tag"] == "H4TL9P"
    assert message["thread"]["in_reply_to"] == ["<H4TL9P.1760450520@newport311.example.org>"]
    assert message["extra"]["spf"] == "pass"
    assert message["media"][0]["content_type"] == "image/jpeg"
    assert message["media"][0]["size"] == 730


async def test_wrong_credentials_are_403_and_store_nothing(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        headers = post_headers("city:guess")
        response = await client.post(PATH, data=FIXTURE.read_bytes(), headers=headers)
        stored = await inbound_rows(runtime)
    assert response.status == 403
    assert stored == []


@pytest.mark.parametrize("case", EMAILS, ids=lambda p: p.stem)
async def test_every_sample_mail_as_raw_email_is_stored_and_parsed_or_flagged(
    runtime: Runtime, case: Path
) -> None:
    body = json.dumps(postmark_raw(case.read_bytes()))
    async with serve(runtime) as client:
        response = await client.post(PATH, data=body, headers=post_headers())
        stored = await inbound_rows(runtime)
    assert stored_as_expected(response.status, stored)
