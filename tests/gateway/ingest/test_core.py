"""The ingest core: one contract for every way in (store raw, parse, store, wake, count, log).

Each transport has its own tests (webhooks in tests/channels, SMTP in test_smtp.py, the form and
Open311 POST in their channel tests); these pin what the core itself promises to all of them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from channels import ChannelContext, WebhookRequest
from channels.open311 import TOKEN_HEADER, Open311
from channels.web_form import WebForm
from gateway.errors import MalformedPayload, StorageUnavailable
from gateway.runtime import Runtime
from gateway.store.schema import inbound_messages
from tests.support import folder_only, make_settings


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    rt = Runtime(make_settings(tmp_path, database_url, folder_only(tmp_path)))
    await rt.writer.start()
    yield rt
    await rt.writer.stop()
    await rt.close()


def counted(channel: str, outcome: str) -> float:
    labels = {"channel": channel, "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_inbound_total", labels) or 0.0


def context(runtime: Runtime) -> ChannelContext:
    return ChannelContext(runtime.settings.city_name, runtime.settings.message)


def form_body(submission: str) -> bytes:
    return json.dumps({"submission": submission, "description": "pothole", "lat": 41.48,
                       "long": -71.31, "email": "ana@example.org"}).encode()  # fmt: skip


async def test_the_web_form_is_stored_counted_and_wakes_the_intake(runtime: Runtime) -> None:
    channel = WebForm({}, context(runtime))
    request = WebhookRequest("POST", "http://x/report", {}, form_body("s-1"))
    before = counted("web_form", "stored")
    runtime.intake_wake.clear()
    (stored,) = await runtime.ingest.take(channel, request)
    assert counted("web_form", "stored") == before + 1
    assert runtime.intake_wake.is_set()
    (again,) = await runtime.ingest.take(channel, request)
    assert again.duplicate and again.tracking_number == stored.tracking_number
    assert counted("web_form", "duplicate") >= 1


async def test_an_open311_post_is_counted_like_any_channel(runtime: Runtime) -> None:
    channel = Open311({}, context(runtime))
    headers = {"content-type": "application/x-www-form-urlencoded", TOKEN_HEADER.lower(): "t-1"}
    body = b"service_code=pothole&lat=41.48&long=-71.31&description=hole"
    before = counted("open311", "stored")
    await runtime.ingest.take(channel, WebhookRequest("POST", "http://x/o", headers, body))
    assert counted("open311", "stored") == before + 1


async def test_what_cannot_be_parsed_is_kept_with_its_reason_and_counted(runtime: Runtime) -> None:
    channel = Open311({}, context(runtime))
    before = counted("open311", "malformed_payload")
    with pytest.raises(MalformedPayload):
        await runtime.ingest.take(channel, WebhookRequest("POST", "http://x/o", {}, b"a=1"))
    assert counted("open311", "malformed_payload") == before + 1
    async with runtime.engine.connect() as conn:
        row = (await conn.execute(select(inbound_messages))).one()
    assert (row.state, row.raw_body) == ("unparsed", b"a=1")
    assert "X-Open311-Token is missing" in row.error


async def test_storage_failure_is_the_one_answer_every_way_in_renders(runtime: Runtime) -> None:
    channel = WebForm({}, context(runtime))
    await runtime.writer.stop()
    before = counted("web_form", "storage_unavailable")
    with pytest.raises(StorageUnavailable):
        await runtime.ingest.take(channel, WebhookRequest("POST", "u", {}, form_body("s-2")))
    assert counted("web_form", "storage_unavailable") == before + 1


async def test_credentials_are_never_stored(runtime: Runtime) -> None:
    channel = WebForm({}, context(runtime))
    headers = {"authorization": "Basic c2VjcmV0", "cookie": "session=1", "x-kept": "yes"}
    await runtime.ingest.take(channel, WebhookRequest("POST", "u", headers, form_body("s-3")))
    async with runtime.engine.connect() as conn:
        row = (await conn.execute(select(inbound_messages))).one()
    assert row.headers == {"x-kept": "yes"}
