"""Postmark inbound: the shared fixture, basic auth, and every sample mail as RawEmail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.runtime import Runtime
from tests.channels.email_webhooks import (
    BASIC,
    EMAILS,
    FIXTURES,
    basic_auth,
    postmark_raw,
    rows,
    stored_as_expected,
)
from tests.support import folder_only, make_settings, merge, serve

PATH = "/webhooks/email/postmark"
FIXTURE = FIXTURES / "postmark_inbound.json"


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("POSTMARK_INBOUND_AUTH", BASIC)
    table = {"enabled": True, "basic_auth_env": "POSTMARK_INBOUND_AUTH"}
    overrides = merge(folder_only(tmp_path), {"channels": {"postmark": table}})
    return Runtime(make_settings(tmp_path, database_url, overrides))


def post_headers(credentials: str = BASIC) -> dict[str, str]:
    return {**basic_auth(credentials), "Content-Type": "application/json"}


async def test_fixture_reply_carries_its_thread_hints_and_photo(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        for _ in range(2):
            response = await client.post(PATH, data=FIXTURE.read_bytes(), headers=post_headers())
            assert response.status == 200
        stored = await rows(runtime)
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
        stored = await rows(runtime)
    assert response.status == 403
    assert stored == []


@pytest.mark.parametrize("case", EMAILS, ids=lambda p: p.stem)
async def test_every_sample_mail_as_raw_email_is_stored_and_parsed_or_flagged(
    runtime: Runtime, case: Path
) -> None:
    body = json.dumps(postmark_raw(case.read_bytes()))
    async with serve(runtime) as client:
        response = await client.post(PATH, data=body, headers=post_headers())
        stored = await rows(runtime)
    assert stored_as_expected(response.status, stored)
