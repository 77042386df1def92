"""Retention on requests made the real way (web form, Twilio SMS and WhatsApp through the app, the
intake, a history code, STOP, the case system closing them): a purge leaves no contact detail of a
closed request anywhere in the database, keeps what staff and Open311 need, never touches an open
request, keeps the opt-out, is idempotent, and a dry run counts the same and changes nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import RetentionSettings
from gateway.housekeeping import sweep
from gateway.outbox.sync import change_status
from gateway.records import CaseUpdate, Status
from gateway.retention import purge
from gateway.runtime import Runtime
from gateway.store import contacts, requests
from gateway.store.database import make_engine
from gateway.store.schema import inbound_messages, metadata, outbox, service_requests, voice_calls
from tests.channels.test_web_form import multipart, open_form, report
from tests.conftest import SHARED_FIXTURES
from tests.gateway.cli.test_maintenance import LONG_AGO, closed_request_of_long_ago
from tests.gateway.web.support import form_runtime, hidden
from tests.support import folder_only, make_settings, post_twilio, serve

TWILIO = SHARED_FIXTURES / "twilio"
# Days on: everything made now is past both cut-offs.
LATER = timedelta(days=400)
POLICY = RetentionSettings(contact_days=365, raw_days=90)
# What identifies each resident whose request is closed, as the database might hold it.
CLOSED_CONTACTS = {
    "form": ["sam rivera", "sam.rivera@example.com", "4015550199"],
    "sms": ["4015550123"],
    "whatsapp": ["4015550185"],
}
OPEN_PHONE = "+14015550159"


def body(name: str, **replace: str) -> bytes:
    text = (TWILIO / name).read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return text.encode()


async def number_of(reply: Any) -> str:
    found = re.search(r"(?:Tracking number|seguimiento) ([0-9A-Z]+)", await reply.text())
    assert found, await reply.text()
    return found.group(1)


async def file_on_form(client: Any) -> str:
    _, csrf, submission = await open_form(client)
    fields = report(
        csrf,
        submission,
        phone="(401) 555-0199",
        description="Big pothole at 280 Spring St. Sam Rivera, 401.555.0199 if you need me",
    )
    posted = await client.post("/report", data=multipart(fields))
    assert posted.status == 200
    return str(posted.url).split("/requests/")[1].split("?")[0]


async def ask_code(client: Any, contact: str) -> None:
    html = await (await client.get("/history")).text()
    data = {"csrf_token": hidden(html, "csrf_token"), "lang": "en", "contact": contact}
    assert (await client.post("/history", data=data)).status == 200


async def drain(runtime: Runtime) -> None:
    while await runtime.intake_worker().run_once():
        pass


async def close(runtime: Runtime, number: str) -> None:
    async with runtime.engine.begin() as conn:
        request = await requests.get_by_tracking_number(conn, number)
        assert request is not None
        update = CaseUpdate("C-" + number, "closed", "Filled, thanks", datetime.now(UTC))
        assert await change_status(conn, runtime.settings, request, update, "status_webhook")


@pytest.fixture
async def made(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Runtime, dict[str, str]]]:
    """Three closed requests (form, SMS, WhatsApp) and an open one, with the SMS resident's
    STATUS, history code and STOP; the tracking numbers by name."""
    runtime = form_runtime(tmp_path, database_url)
    numbers: dict[str, str] = {}
    async with serve(runtime) as client:
        numbers["form"] = await file_on_form(client)
        sms = body("sms_inbound.form", **{"fill+it%3F": "fill+it%3F+Call+me+at+401-555-0123"})
        numbers["sms"] = await number_of(await post_twilio(client, sms))
        numbers["whatsapp"] = await number_of(await post_twilio(client, body("whatsapp_text.form")))
        numbers["open"] = await number_of(
            await post_twilio(client, body("sms_typo_streetlight.form"))
        )
        await drain(runtime)
        status = body("sms_status_query.form", K7M2QX=numbers["sms"])
        assert (await post_twilio(client, status)).status == 200
        await ask_code(client, "401-555-0123")
        stop = body("sms_stop.form", **{"From=%2B14015550167": "From=%2B14015550123"})
        assert (await post_twilio(client, stop)).status == 200
        await drain(runtime)
        for name in ("form", "sms", "whatsapp"):
            await close(runtime, numbers[name])
        # serve() closes the runtime; a fresh engine on the same database follows.
    yield Runtime(runtime.settings), numbers


def cells(value: Any) -> str:
    """A stored value as text a contact could be found in (bytes decoded, URL-encoding undone)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, dict | list):
        value = json.dumps(value)
    return unquote_plus(str(value)).lower()


async def holding(engine: AsyncEngine, needle: str) -> dict[str, int]:
    """Rows per table that hold ``needle`` (digits are matched however they are separated)."""
    found: dict[str, int] = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(select(table)):
                text = " ".join(cells(v) for v in row)
                if needle.isdigit():
                    text = re.sub(r"\D", "", text)
                if needle in text:
                    found[table.name] = found.get(table.name, 0) + 1
    return found


async def staff_view(engine: AsyncEngine, number: str) -> tuple[Any, ...]:
    """What a closed request keeps: number, service, place, status, case, media, history."""
    async with engine.connect() as conn:
        r = await requests.get_by_tracking_number(conn, number)
        assert r is not None
        history = [
            (e["kind"], e["status"], e["at"])
            for e in await requests.events(conn, r.id)
            if e["kind"] != "contact_purged"
        ]
    place = (r.service_code, r.service_name, r.location, r.media, r.flags)
    return (r.tracking_number, r.channel, r.received_at, *place, r.status, r.case_id, history)


async def dump(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [
            f"{table.name}: {cells(tuple(row))}"
            for table in metadata.sorted_tables
            for row in await conn.execute(select(table))
        ]


# Raw payloads kept for ever too: the contact purge must blank stored messages by itself.
POLICIES = [POLICY, RetentionSettings(contact_days=365, raw_days=0)]


@pytest.mark.parametrize("policy", POLICIES, ids=["raw-90", "raw-for-ever"])
async def test_a_purge_leaves_no_contact_of_a_closed_request_and_keeps_what_staff_need(
    made: tuple[Runtime, dict[str, str]], policy: RetentionSettings
) -> None:
    runtime, numbers = made
    engine = runtime.engine
    try:
        # Before: every closed resident is all over the database.
        for needles in CLOSED_CONTACTS.values():
            for needle in needles:
                assert len(await holding(engine, needle)) >= 2, needle
        kept_fields = {name: await staff_view(engine, numbers[name]) for name in numbers}
        before = await dump(engine)
        dry = await purge(engine, policy, datetime.now(UTC) + LATER, dry_run=True)
        assert await dump(engine) == before
        done = await purge(engine, policy, datetime.now(UTC) + LATER)
        assert done.counts() == dry.counts()
        assert sorted(done.requests) == sorted(numbers[n] for n in CLOSED_CONTACTS)
        assert done.spent_messages >= 1 and done.spent_notifications >= 1
        assert done.rows["inbound_messages"] >= 4 and done.rows["outbox"] >= 3
        # The hourly sweep drops the spent history code (its table holds the contact).
        await sweep(engine, datetime.now(UTC) + LATER, timedelta(hours=1))

        for name, needles in CLOSED_CONTACTS.items():
            for needle in needles:
                left = await holding(engine, needle)
                # The opt-out is the one place the SMS resident's number stays, on purpose.
                expected = {"opt_outs": 1} if name == "sms" else {}
                assert left == expected, (name, needle, left)
        async with engine.connect() as conn:
            assert await contacts.is_opted_out(conn, "twilio_sms", "+14015550123")
            kept = await requests.get_by_tracking_number(conn, numbers["open"])
            assert kept is not None and kept.reporter.phone == OPEN_PHONE
            for name in CLOSED_CONTACTS:
                request = await requests.get_by_tracking_number(conn, numbers[name])
                assert request is not None and request.status is Status.CLOSED
                assert request.reporter.phone is None and request.reporter.address is None
                kinds = [e["kind"] for e in await requests.events(conn, request.id)]
                assert kinds[0] == "received" and "status_changed" in kinds
                assert kinds[-1] == "contact_purged"
            sms = await requests.get_by_tracking_number(conn, numbers["sms"])
            assert sms is not None and "Spring St" in sms.description
            assert "[redacted]" in sms.description
            # A retried webhook of a purged message is still known (its row and id stay).
            ids = (await conn.execute(select(inbound_messages.c.provider_id))).scalars().all()
            assert "SMc38c383140cfc46c84688f7c8c9a166a" in ids
            unsent = (
                await conn.execute(select(outbox.c.state).where(outbox.c.kind == "notify"))
            ).scalars()
            assert "pending" not in {s for s in unsent if s}  # nothing waits to go to no one
        # The open request's resident is untouched.
        assert (await holding(engine, "4015550159")).keys() >= {
            "service_requests",
            "inbound_messages",
        }
        # What staff and Open311 see of every request is as it was (the open one: all of it).
        assert {name: await staff_view(engine, numbers[name]) for name in numbers} == kept_fields
        served = Runtime(runtime.settings)
        async with serve(served) as client:
            got = await client.get(f"/open311/v2/requests/{numbers['sms']}.json")
            assert got.status == 200, await got.text()
            (one,) = await got.json()
            assert one["status"] == "closed" and one["service_code"]
            page = await client.get(f"/requests/{numbers['form']}")
            assert page.status == 200
            # The resident asks about the purged request: that message, linked to it, goes too.
            status = body("sms_status_query.form", K7M2QX=numbers["sms"], SMeb97="SMeb98")
            assert (await post_twilio(client, status)).status == 200
            await drain(served)

        again = await purge(engine, policy, datetime.now(UTC) + LATER)
        assert again.requests == [] and again.spent_messages == 1
        assert await holding(engine, "4015550123") == {"opt_outs": 1}
        assert set((await purge(engine, policy, datetime.now(UTC) + LATER)).counts().values()) == {
            0
        }
    finally:
        await runtime.close()


async def test_open_requests_and_unfinished_messages_keep_everything(
    made: tuple[Runtime, dict[str, str]],
) -> None:
    runtime, numbers = made
    engine = runtime.engine
    try:
        async with engine.begin() as conn:
            # Reopened: no longer closed, so nothing of it may go, however old.
            await requests.set_status(conn, await _id(conn, numbers["sms"]), Status.OPEN.value)
        await purge(engine, POLICY, datetime.now(UTC) + LATER)
        async with engine.connect() as conn:
            reopened = await requests.get_by_tracking_number(conn, numbers["sms"])
            assert reopened is not None and reopened.reporter.phone == "+14015550123"
            raw = (
                (
                    await conn.execute(
                        select(inbound_messages.c.raw_body).where(
                            inbound_messages.c.request_id == reopened.id
                        )
                    )
                )
                .scalars()
                .all()
            )
            assert raw and all(b"14015550123" in r for r in raw)
    finally:
        await runtime.close()


async def test_raw_payloads_go_after_raw_days_and_parsed_messages_stay(
    made: tuple[Runtime, dict[str, str]],
) -> None:
    runtime, _ = made
    engine = runtime.engine
    try:
        raw_only = RetentionSettings(contact_days=0, raw_days=90)
        dry = await purge(engine, raw_only, datetime.now(UTC) + timedelta(days=100), dry_run=True)
        done = await purge(engine, raw_only, datetime.now(UTC) + timedelta(days=100))
        assert done.raw_payloads == dry.raw_payloads >= 5 and done.requests == []
        async with engine.connect() as conn:
            rows = list(
                await conn.execute(
                    select(inbound_messages, service_requests.c.status).outerjoin(
                        service_requests, service_requests.c.id == inbound_messages.c.request_id
                    )
                )
            )
        for row in rows:
            open_request = row.status is not None and row.status != Status.CLOSED.value
            assert (row.raw_body != b"") is open_request, row.provider_id
            # The parsed message and sender stay until the contact cut-off (here: for ever).
            assert row.message is not None
        assert any(r.sender for r in rows if r.status == Status.CLOSED.value)
        assert (
            await purge(engine, raw_only, datetime.now(UTC) + timedelta(days=100))
        ).raw_payloads == 0
    finally:
        await runtime.close()


async def _id(conn: Any, number: str) -> str:
    found = await requests.id_by_tracking_number(conn, number)
    assert found is not None
    return found


async def test_the_worker_purges_at_start_and_logs_counts_only(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    number = await closed_request_of_long_ago(database_url, 7, Status.CLOSED)
    runtime = Runtime(make_settings(tmp_path, database_url, folder_only(tmp_path)))
    stopping = asyncio.Event()
    caplog.set_level(logging.INFO, logger="gateway.retention")
    worker = asyncio.create_task(runtime.work(stopping))
    try:
        async with asyncio.timeout(30):
            while not [r for r in caplog.records if r.msg == "retention.purged"]:
                await asyncio.sleep(0.05)
        async with runtime.engine.connect() as conn:
            request = await requests.get_by_tracking_number(conn, number)
        assert request is not None and request.reporter.phone is None
        (logged,) = [r for r in caplog.records if r.msg == "retention.purged"]
        assert logged.__dict__["requests"] == 1 and logged.__dict__["rows_outbox"] == 1
        assert "4015550123" not in repr(logged.__dict__) and number not in repr(logged.__dict__)
    finally:
        stopping.set()
        await asyncio.wait_for(worker, 30)
        await runtime.close()


async def test_a_phone_call_of_a_closed_request_loses_the_caller_and_what_was_said(
    database_url: str,
) -> None:
    number = await closed_request_of_long_ago(database_url, 7, Status.CLOSED)
    engine = make_engine(database_url)
    said = {"problem": "pothole in front of 25 Caswell Ave, call me at 401 555 0123"}
    try:
        async with engine.begin() as conn:
            await conn.execute(
                voice_calls.insert().values(
                    call_sid="CA" + "7" * 32, caller="+14015550123", step="done", seq=9,
                    data=said, answer="<Response><Say>25 Caswell Ave</Say></Response>",
                    started_at=LONG_AGO, updated_at=LONG_AGO, filed_at=LONG_AGO,
                    outcome="completed", tracking_number=number, transcript="25 Caswell Ave",
                )
            )  # fmt: skip
        dry = await purge(engine, POLICY, datetime.now(UTC), dry_run=True)
        done = await purge(engine, POLICY, datetime.now(UTC))
        async with engine.connect() as conn:
            call = (await conn.execute(select(voice_calls))).one()
    finally:
        await engine.dispose()
    assert dry.rows["voice_calls"] == done.rows["voice_calls"] == 1
    assert (call.caller, call.data, call.answer, call.transcript) == ("", {}, "", None)
    # The row stays, with what says how the call ended and what it filed.
    assert (call.outcome, call.tracking_number) == ("completed", number)
