"""Twilio message status callbacks: every shared fixture replayed, signed with the SDK's signer.

A callback is stored once per (MessageSid, status) and, after the intake worker, lands on the
history of the request whose reply it reports; a number Twilio says is unsubscribed or
unreachable (21610, 30003, 30005, 30006) is not messaged again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp.test_utils import TestClient

from gateway.outbox import jobs
from gateway.records import ServiceRequest
from gateway.runtime import Runtime
from gateway.store import contacts, requests
from gateway.store.received import list_inbound
from tests.conftest import SHARED_FIXTURES
from tests.support import FORM, post_twilio, serve, twilio_headers

ROUTE = "/webhooks/twilio/status"
TWILIO = SHARED_FIXTURES / "twilio"
CASES = sorted(TWILIO.glob("message_status_*.form"))
SIDS: dict[str, str] = json.loads((TWILIO / "_ids.json").read_text())["message_sid_by_file"]
# The notifier that sends SMS replies: its opt-outs are what stops the next message.
NOTIFIER = "twilio_sms"
# Whether each fixture's status takes its number off the list (21610: unsubscribed recipient).
OPTS_OUT = {"message_status_delivered": False, "message_status_failed": True}
# Unsubscribed (21610); unknown, unreachable or landline destination (30003, 30005, 30006).
UNREACHABLE = [
    ("failed", "21610"),
    ("undelivered", "30003"),
    ("undelivered", "30005"),
    ("undelivered", "30006"),
]


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient[Any, Any]]:
    async with serve(runtime) as client:
        yield client


def fields(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def variant(case: Path, **changes: str) -> bytes:
    """The fixture's body with some fields changed (signed afresh when posted)."""
    return urlencode({**fields(case.read_bytes()), **changes}).encode()


def failure(status: str, code: str) -> bytes:
    """The failed fixture as another status and error code (Twilio's error list)."""
    failed = TWILIO / "message_status_failed.form"
    return variant(failed, MessageStatus=status, SmsStatus=status, ErrorCode=code)


async def stored_ids(runtime: Runtime) -> list[str]:
    """The provider ids of the stored status callbacks, oldest first."""
    rows = await list_inbound(runtime.engine)
    return [r.provider_id for r in reversed(rows) if r.channel == "twilio_status"]


async def report_from(
    client: TestClient[Any, Any], runtime: Runtime, number: str
) -> ServiceRequest:
    """A real request from ``number``: its SMS posted, signed, and taken by the intake worker."""
    body = variant(TWILIO / "sms_inbound.form", From=number, MessageSid="SM" + number[-4:] * 8)
    assert (await post_twilio(client, body)).status == 200
    await runtime.intake_worker().run_once()
    async with runtime.engine.connect() as conn:
        request = await requests.latest_for(conn, number)
    assert request is not None
    return request


async def reply_sent(runtime: Runtime, request: ServiceRequest, sid: str) -> None:
    """The outbox sent a reply for ``request`` and Twilio called it ``sid``, as the worker records
    a sent notification: enqueued, claimed, and settled done with the provider's id."""
    now = datetime.now(UTC)
    key = f"notify-{NOTIFIER}-test-{sid}"
    job = jobs.NewJob(jobs.NOTIFY, NOTIFIER, key, request.id, {"purpose": "confirmation"})
    async with runtime.engine.begin() as conn:
        await jobs.enqueue(conn, [job], now=now)
    claimed = await jobs.claim(
        runtime.engine, jobs.NOTIFY, NOTIFIER, now=now, limit=100, lease_seconds=60
    )
    async with runtime.engine.begin() as conn:
        for each in claimed:
            if each.idempotency_key == key:
                assert await jobs.settle(conn, each, now=now, state=jobs.DONE, remote_id=sid)
    # Other replies (a question to the resident) go back to the queue untouched.
    for each in claimed:
        if each.idempotency_key != key:
            await jobs.release(runtime.engine, each, now=now)


async def receipt_for_reply(
    client: TestClient[Any, Any], runtime: Runtime, body: bytes
) -> tuple[list[dict[str, Any]], bool]:
    """Post ``body`` (twice: Twilio or a proxy may retry) about a reply to a real request, run
    the intake worker; the request's message_status events and whether the number opted out."""
    form = fields(body)
    request = await report_from(client, runtime, form["To"])
    await reply_sent(runtime, request, form["MessageSid"])
    for _ in range(2):
        assert (await post_twilio(client, body, ROUTE)).status == 204
        await runtime.intake_worker().run_once()
    async with runtime.engine.connect() as conn:
        history = await requests.events(conn, request.id)
        opted_out = await contacts.is_opted_out(conn, NOTIFIER, form["To"])
    return [e for e in history if e["kind"] == "message_status"], opted_out


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
async def test_replay_is_204_and_stored_once(
    runtime: Runtime, client: TestClient[Any, Any], case: Path
) -> None:
    body = case.read_bytes()
    first = await post_twilio(client, body, ROUTE)
    retry = await post_twilio(client, body, ROUTE)
    assert (first.status, retry.status) == (204, 204)
    assert await first.read() == b""
    form = fields(body)
    assert form["MessageSid"] == SIDS[case.name]
    assert await stored_ids(runtime) == [f"{SIDS[case.name]}:{form['MessageStatus']}"]


def test_every_status_fixture_is_covered() -> None:
    assert [c.stem for c in CASES] == sorted(OPTS_OUT)


async def test_each_status_of_one_message_is_its_own_row(
    runtime: Runtime, client: TestClient[Any, Any]
) -> None:
    delivered = TWILIO / "message_status_delivered.form"
    sid = SIDS[delivered.name]
    sent = variant(delivered, MessageStatus="sent", SmsStatus="sent")
    for body in (sent, delivered.read_bytes(), sent):
        assert (await post_twilio(client, body, ROUTE)).status == 204
    assert await stored_ids(runtime) == [f"{sid}:sent", f"{sid}:delivered"]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
async def test_bad_signature_is_403_and_stores_nothing(
    runtime: Runtime, client: TestClient[Any, Any], case: Path
) -> None:
    body = case.read_bytes()
    url = str(client.make_url(ROUTE))
    forged = await client.post(
        ROUTE, data=body, headers=twilio_headers(url, body, token="not-the-city-token")
    )
    tampered = await client.post(
        ROUTE, data=body.replace(b"%2B1401555", b"%2B1212555"), headers=twilio_headers(url, body)
    )
    unsigned = await client.post(ROUTE, data=body, headers={"Content-Type": FORM})
    assert (forged.status, tampered.status, unsigned.status) == (403, 403, 403)
    assert (await forged.json())["error"] == "bad_signature"
    assert await stored_ids(runtime) == []


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
async def test_status_of_our_reply_lands_on_its_request_history(
    runtime: Runtime, client: TestClient[Any, Any], case: Path
) -> None:
    form = fields(case.read_bytes())
    events, opted_out = await receipt_for_reply(client, runtime, case.read_bytes())
    # Stored once however often it came, so on the history once.
    assert len(events) == 1
    detail = events[0]["detail"]
    assert detail["provider_id"] == SIDS[case.name]
    assert detail["status"] == form["MessageStatus"]
    assert detail["error_code"] == (form.get("ErrorCode") or None)
    assert opted_out is OPTS_OUT[case.stem]


@pytest.mark.parametrize(("status", "code"), UNREACHABLE)
async def test_unsubscribed_or_unreachable_number_is_not_messaged_again(
    runtime: Runtime, client: TestClient[Any, Any], status: str, code: str
) -> None:
    events, opted_out = await receipt_for_reply(client, runtime, failure(status, code))
    assert [(e["detail"]["status"], e["detail"]["error_code"]) for e in events] == [(status, code)]
    assert opted_out


@pytest.mark.parametrize(
    ("status", "code"), [("undelivered", "30007"), ("failed", "30008"), ("sent", "30003")]
)
async def test_other_failures_keep_the_number(
    runtime: Runtime, client: TestClient[Any, Any], status: str, code: str
) -> None:
    # 30007 (carrier filtering) and 30008 (unknown error) say nothing about the number; and an
    # error code on a status that is not a failure opts no one out.
    events, opted_out = await receipt_for_reply(client, runtime, failure(status, code))
    assert [e["detail"]["status"] for e in events] == [status]
    assert not opted_out


async def test_status_of_a_message_we_never_sent_changes_nothing(
    runtime: Runtime, client: TestClient[Any, Any]
) -> None:
    body = (TWILIO / "message_status_failed.form").read_bytes()
    number = fields(body)["To"]
    request = await report_from(client, runtime, number)
    assert (await post_twilio(client, body, ROUTE)).status == 204
    await runtime.intake_worker().run_once()
    async with runtime.engine.connect() as conn:
        kinds = [e["kind"] for e in await requests.events(conn, request.id)]
        opted_out = await contacts.is_opted_out(conn, NOTIFIER, number)
    rows = {r.provider_id: r.state for r in await list_inbound(runtime.engine)}
    assert "message_status" not in kinds
    assert not opted_out
    # Kept and settled, not left for the worker to take again.
    assert rows[f"{SIDS['message_status_failed.form']}:failed"] == "processed"
