"""After the ack: stored messages become service requests with events and outbox jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select

from gateway.outbox import jobs
from gateway.outbox.replies import reply_notifier
from gateway.records import (
    Declared,
    InboundMessage,
    Location,
    MailThread,
    NormalizedReport,
    OpenRequest,
)
from gateway.runtime import Runtime
from gateway.store import received, requests
from gateway.store.inbound import Envelope
from gateway.store.received import Settlement
from gateway.store.schema import inbound_messages, service_requests
from tests.conftest import SHARED_FIXTURES
from tests.support import make_settings


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    overrides = {
        "connectors": {
            "folder": {"enabled": True, "path": str(tmp_path / "cases")},
            "webhook": {"enabled": True, "url": "http://127.0.0.1:9/cases", "secret_env": "HOME"},
        }
    }
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    await runtime.writer.start()
    yield runtime
    await runtime.writer.stop()
    await runtime.close()


def sms(sid: str, text: str) -> InboundMessage:
    return InboundMessage(channel="twilio_sms", provider_id=sid, sender="+14015550142", text=text)


async def store(runtime: Runtime, *messages: InboundMessage) -> list[str]:
    envelope = Envelope("twilio_sms", b"raw", {"content-type": "x"}, "http://x/")
    receipts = await runtime.writer.store(envelope, messages)
    return [r.tracking_number for r in receipts]


async def test_stored_message_becomes_a_request_with_history_and_one_job_per_connector(
    runtime: Runtime,
) -> None:
    (number,) = await store(runtime, sms("SM1", "  big hole on spring st  "))
    assert await runtime.intake_worker().run_once() == 1
    async with runtime.engine.connect() as conn:
        request = await requests.get_by_tracking_number(conn, number)
        assert request is not None
        history = await requests.events(conn, request.id)
        inbound = (await conn.execute(select(inbound_messages))).one()
    assert request.description == "big hole on spring st"
    assert request.original_text == "  big hole on spring st  "
    assert request.reporter.address == "+14015550142"
    assert request.status.value == "accepted"
    assert [e["kind"] for e in history] == ["received"]
    assert inbound.state == "processed" and inbound.request_id == request.id
    queued = await jobs.list_jobs(runtime.engine)
    assert sorted(j.target for j in queued) == ["folder", "webhook"]
    assert all(j.request_id == request.id and j.state == jobs.PENDING for j in queued)


async def test_processing_twice_files_nothing_twice(runtime: Runtime) -> None:
    await store(runtime, sms("SM1", "one"), sms("SM2", "two"))
    pipeline = runtime.intake_worker()
    assert await pipeline.run_once() == 2
    assert await pipeline.run_once() == 0
    await store(runtime, sms("SM1", "one"))  # the provider retried
    assert await pipeline.run_once() == 0
    async with runtime.engine.connect() as conn:
        rows = list(await conn.execute(select(service_requests.c.id)))
    assert len(rows) == 2
    assert len(await jobs.list_jobs(runtime.engine)) == 4


async def test_a_message_the_normalizer_chokes_on_is_flagged_and_the_rest_go_on(
    runtime: Runtime,
) -> None:
    async def fragile(
        message: InboundMessage, open_requests: Sequence[OpenRequest], now: datetime
    ) -> NormalizedReport:
        if "poison" in message.text:
            raise ValueError("cannot understand this")
        return await runtime.normalizer()(message, open_requests, now)

    await store(runtime, sms("SM1", "fine"), sms("SM2", "poison"), sms("SM3", "also fine"))
    worker = runtime.intake_worker()
    worker.router.normalize = fragile
    assert await worker.run_once() == 3
    async with runtime.engine.connect() as conn:
        states = dict(
            (r.provider_id, (r.state, r.error))
            for r in await conn.execute(select(inbound_messages))
        )
    assert states["SM1"][0] == states["SM3"][0] == "processed"
    assert states["SM2"][0] == "failed"
    assert "cannot understand this" in states["SM2"][1]


def fixture_text(name: str) -> str:
    form = dict(parse_qsl((SHARED_FIXTURES / "twilio" / name).read_text(), keep_blank_values=True))
    return form["Body"]


async def test_the_normalizer_is_wired_in_after_the_ack(runtime: Runtime) -> None:
    texts = {
        "SMgas": fixture_text("sms_gas_emergency.form"),
        "SMes": fixture_text("sms_spanish.form"),
        "SMhole": fixture_text("sms_inbound.form"),
    }
    numbers = await store(runtime, *(sms(sid, text) for sid, text in texts.items()))
    await runtime.intake_worker().run_once()
    async with runtime.engine.connect() as conn:
        gas, spanish, hole = [
            await requests.get_by_tracking_number(conn, number) for number in numbers
        ]
    assert gas is not None and spanish is not None and hole is not None
    assert gas.flags.emergency and not hole.flags.emergency
    assert spanish.reporter.language == "es"
    assert hole.service_code == "pothole"
    assert hole.service_name == "Pothole"
    # The phone is normalized to E.164 for the reply.
    assert hole.reporter.phone == "+14015550142"


async def test_what_a_form_states_outranks_what_the_text_suggests(runtime: Runtime) -> None:
    message = InboundMessage(
        channel="web_form",
        provider_id="form-1",
        sender="ana@example.org",
        text="the lamp post light has been out for a week",
        location=Location(address="280 Spring St", source="resident", confidence=0.5),
        declared=Declared(
            service_code="pothole",
            language="es",
            phone="(401) 555-0199",
            attributes={"size": "large"},
        ),
    )
    (number,) = await store(runtime, message)
    await runtime.intake_worker().run_once()
    async with runtime.engine.connect() as conn:
        request = await requests.get_by_tracking_number(conn, number)
    assert request is not None
    assert (request.service_code, request.service_confidence) == ("pothole", 1.0)
    assert request.reporter.language == "es"
    assert (request.reporter.email, request.reporter.phone) == ("ana@example.org", "+14015550199")
    assert request.attributes == {"size": "large"}
    assert request.location is not None and request.location.address == "280 Spring St"


def test_a_form_reporter_is_answered_where_they_asked() -> None:
    assert reply_notifier("web_form", "ana@example.org") == "email"
    assert reply_notifier("web_form", "+14015550199") == "twilio_sms"
    assert reply_notifier("twilio_sms", "+14015550199") == "twilio_sms"
    assert reply_notifier("open311", "+14015550199") is None


async def test_an_auto_reply_that_belongs_to_no_request_opens_none(runtime: Runtime) -> None:
    bounce = InboundMessage(
        channel="smtp",
        provider_id="<ooo@example.org>",
        sender="ana@example.org",
        text="I am out of the office until Monday.",
        auto_reply="auto-reply",
    )
    await store(runtime, bounce)
    assert await runtime.intake_worker().run_once() == 1
    async with runtime.engine.connect() as conn:
        kept = (await conn.execute(select(inbound_messages))).one()
        made = list(await conn.execute(select(service_requests.c.id)))
    assert (kept.state, kept.request_id, made) == ("auto", None, [])
    assert await jobs.list_jobs(runtime.engine, kind=jobs.NOTIFY) == []


async def test_an_email_confirmation_joins_the_residents_thread(runtime: Runtime) -> None:
    mail = InboundMessage(
        channel="smtp",
        provider_id="<report-1@example.org>",
        sender="ana@example.org",
        text="There is a pothole at 280 Spring St.",
        subject="Pothole on Spring St",
        thread=MailThread(references=("<older@example.org>",)),
    )
    (number,) = await store(runtime, mail)
    await runtime.intake_worker().run_once()
    (note,) = await jobs.list_jobs(runtime.engine, kind=jobs.NOTIFY)
    assert note.target == "email" and note.payload["to"] == "ana@example.org"
    assert note.payload["thread"] == {
        "in_reply_to": "<report-1@example.org>",
        "references": "<older@example.org>",
        "subject": "Pothole on Spring St",
        "tracking_number": number,
        "language": "en",
    }


async def test_a_late_settlement_never_overwrites_a_message_already_settled(
    runtime: Runtime,
) -> None:
    # A worker that failed a batch and retries one by one may come to a message another worker
    # has filed meanwhile: its failure must not be written over that message's outcome.
    await store(runtime, sms("SM1", "pothole on spring st"))
    assert await runtime.intake_worker().run_once() == 1
    async with runtime.engine.begin() as conn:
        (row,) = await conn.execute(select(inbound_messages.c.id))
        late = Settlement(row.id, "failed", error="a write failed in another worker's batch")
        await received.settle(conn, [late], datetime.now(UTC))
    async with runtime.engine.connect() as conn:
        settled = (await conn.execute(select(inbound_messages))).one()
    assert (settled.state, settled.error) == ("processed", None)
    assert settled.request_id is not None
