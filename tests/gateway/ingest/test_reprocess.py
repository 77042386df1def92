"""Failed messages are no dead end: reprocessed, a failed message goes back to the intake and is
filed; one whose request was made after all is linked to it, never filed twice; and staff can
dismiss a failed or unparsed message with a reason, kept with who, why and when."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from gateway.ingest.reprocess import dismiss, reprocess, reprocess_message
from gateway.intake.worker import IntakeWorker
from gateway.outbox import jobs
from gateway.records import (
    Declared,
    InboundMessage,
    Location,
    NormalizedReport,
    OpenRequest,
)
from gateway.runtime import Runtime
from gateway.store import flagged, received, requests
from gateway.store.inbound import FAILED, Envelope
from gateway.store.schema import inbound_messages, service_requests
from tests.support import folder_only, make_settings

ENVELOPE = Envelope("web_form", b"raw", {"content-type": "x"}, "http://x/report")


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    runtime = Runtime(make_settings(tmp_path, database_url, folder_only(tmp_path)))
    await runtime.writer.start()
    yield runtime
    await runtime.writer.stop()
    await runtime.close()


def report(provider_id: str) -> InboundMessage:
    """A form report that is filed at once: its service and place are stated."""
    return InboundMessage(
        channel="web_form",
        provider_id=provider_id,
        sender="ana@example.org",
        text="deep pothole by the crosswalk",
        location=Location(lat=41.483207, long=-71.312674, address="280 Spring St"),
        declared=Declared(service_code="pothole"),
    )


async def broken(
    message: InboundMessage, open_requests: Sequence[OpenRequest], now: datetime
) -> NormalizedReport:
    raise RuntimeError("gazetteer file is corrupt")


def failing_intake(runtime: Runtime) -> IntakeWorker:
    """The intake with a normalizer that fails every report, as a bug or a bad file would."""
    worker = runtime.intake_worker()
    worker.router.normalize = broken
    return worker


async def state_of(runtime: Runtime, inbound_id: int) -> tuple[str, str | None, str | None]:
    c = inbound_messages.c
    query = select(c.state, c.error, c.request_id).where(c.id == inbound_id)
    async with runtime.engine.connect() as conn:
        row = (await conn.execute(query)).one()
    return row.state, row.error, row.request_id


async def flagged_ids(runtime: Runtime) -> list[int]:
    return [m.id for m in await received.list_inbound(runtime.engine, flagged_only=True)]


async def test_failed_then_reprocessed_is_taken_again_and_filed(runtime: Runtime) -> None:
    (receipt,) = await runtime.writer.store(ENVELOPE, [report("form-1")])
    assert await failing_intake(runtime).run_once() == 1
    state, error, _ = await state_of(runtime, receipt.inbound_id)
    assert state == FAILED
    assert error is not None and "gazetteer file is corrupt" in error
    assert await flagged_ids(runtime) == [receipt.inbound_id]

    outcome = await reprocess_message(runtime.engine, runtime.settings, receipt.inbound_id)
    assert outcome.ok
    assert outcome.text == "back to received: the intake worker takes it again"
    assert (await state_of(runtime, receipt.inbound_id))[0] == "received"
    assert await flagged_ids(runtime) == []

    assert await runtime.intake_worker().run_once() == 1
    state, error, request_id = await state_of(runtime, receipt.inbound_id)
    assert (state, error) == ("processed", None)
    async with runtime.engine.connect() as conn:
        request = await requests.get_by_tracking_number(conn, receipt.tracking_number)
    assert request is not None and request.id == request_id
    await runtime.outbox_worker().run_once()
    (delivery,) = await jobs.list_jobs(runtime.engine, kind=jobs.DELIVER)
    assert delivery.state == jobs.DONE
    assert delivery.remote_id == receipt.tracking_number
    folder = Path(str(runtime.settings.connectors["folder"].options["path"]))
    assert (folder / f"{receipt.tracking_number}.json").is_file()


async def test_a_message_failed_after_its_request_was_made_is_linked_not_filed_twice(
    runtime: Runtime,
) -> None:
    (receipt,) = await runtime.writer.store(ENVELOPE, [report("form-2")])
    assert await runtime.intake_worker().run_once() == 1
    made = (await state_of(runtime, receipt.inbound_id))[2]
    # What a second worker on the same SQLite file left before settlements were guarded: the
    # message it lost the race for, marked failed over the first worker's success.
    unique = "UNIQUE constraint failed: service_requests.tracking_number"
    async with runtime.engine.begin() as conn:
        await conn.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == receipt.inbound_id)
            .values(state=FAILED, error=unique)
        )
    assert await flagged_ids(runtime) == [receipt.inbound_id]

    text = await reprocess(runtime.engine, runtime.settings, receipt.inbound_id)
    assert text == f"had made request {receipt.tracking_number} already: now processed"
    assert await state_of(runtime, receipt.inbound_id) == ("processed", None, made)
    assert await runtime.intake_worker().run_once() == 0
    async with runtime.engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(service_requests))).scalar()
    assert count == 1
    again = await reprocess_message(runtime.engine, runtime.settings, receipt.inbound_id)
    assert (again.ok, again.text) == (False, "not unparsed (state processed)")


async def test_failed_then_dismissed_is_kept_with_who_why_and_when(runtime: Runtime) -> None:
    (receipt,) = await runtime.writer.store(ENVELOPE, [report("form-3")])
    await failing_intake(runtime).run_once()
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    reason = "test report sent by staff while training"
    outcome = await dismiss(
        runtime.engine, receipt.inbound_id, by="m.santos", reason=reason, now=when
    )
    assert (outcome.ok, outcome.text) == (True, "dismissed (was failed)")
    assert await flagged_ids(runtime) == []
    state, error, _ = await state_of(runtime, receipt.inbound_id)
    # Kept: the failure's reason and the raw message stay for the record.
    assert state == "dismissed"
    assert error is not None and "gazetteer file is corrupt" in error
    async with runtime.engine.connect() as conn:
        found = await flagged.dismissal(conn, receipt.inbound_id)
        raw = await received.get_raw(conn, receipt.inbound_id)
    assert found == flagged.Dismissal("m.santos", reason, when)
    assert raw is not None and raw.envelope.raw_body == b"raw"

    refused = await reprocess_message(runtime.engine, runtime.settings, receipt.inbound_id)
    assert not refused.ok
    assert refused.text == f"dismissed already by m.santos at 2026-12-01 09:30 UTC: {reason}"
    twice = await dismiss(runtime.engine, receipt.inbound_id, by="j.lee", reason="again")
    assert not twice.ok and "by m.santos" in twice.text
    assert await runtime.intake_worker().run_once() == 0


async def test_an_unparsed_message_can_be_dismissed_but_not_without_a_reason(
    runtime: Runtime,
) -> None:
    receipt = await runtime.writer.store_unparsed(ENVELOPE, "description is missing")
    nameless = await dismiss(runtime.engine, receipt.inbound_id, by="m.santos", reason="  ")
    assert (nameless.ok, nameless.text) == (False, "a dismissal needs who dismisses it and why")
    assert await flagged_ids(runtime) == [receipt.inbound_id]
    done = await dismiss(runtime.engine, receipt.inbound_id, by="m.santos", reason="spam")
    assert (done.ok, done.text) == (True, "dismissed (was unparsed)")
    assert await flagged_ids(runtime) == []


async def test_a_processed_message_cannot_be_dismissed(runtime: Runtime) -> None:
    (receipt,) = await runtime.writer.store(ENVELOPE, [report("form-4")])
    await runtime.intake_worker().run_once()
    outcome = await dismiss(runtime.engine, receipt.inbound_id, by="m.santos", reason="dup")
    assert (outcome.ok, outcome.text) == (False, "neither failed nor unparsed (state processed)")
    assert (await state_of(runtime, receipt.inbound_id))[0] == "processed"
    missing = await dismiss(runtime.engine, 999_999, by="m.santos", reason="dup")
    assert (missing.ok, missing.text) == (False, "not found")
