"""``python -m gateway``: the real command line, run as a process on a config and a SQLite file."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from gateway.outbox import jobs
from gateway.records import Reporter, ServiceRequest
from gateway.runtime import Runtime
from gateway.store.database import make_engine
from gateway.store.inbound import Envelope, insert_unparsed
from gateway.store.requests import insert_request
from gateway.store.schema import inbound_messages, outbox
from tests.conftest import SHARED_FIXTURES
from tests.gateway.cli.conftest import Gateway, project
from tests.support import folder_only, make_settings, post_twilio, serve

pytestmark = pytest.mark.timeout(120)

SMS = SHARED_FIXTURES / "twilio" / "sms_inbound.form"
SMS_SID = "SMc38c383140cfc46c84688f7c8c9a166a"


def test_check_config_accepts_the_default_config(tmp_path: Path) -> None:
    result = project(tmp_path).run("check-config")
    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout


def test_check_config_names_the_key_path_of_every_problem(tmp_path: Path) -> None:
    overrides = {"server": {"port": "abc"}, "channels": {"carrier_pigeon": {"enabled": True}}}
    result = project(tmp_path, overrides).run("check-config", env={"TWILIO_AUTH_TOKEN": None})
    assert result.returncode != 0
    assert "configuration is valid" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("config error: ")]
    assert errors[:3] == [
        "config error: server.port: must be an integer >= 1, not 'abc'",
        "config error: channels.twilio_sms.auth_token_env: TWILIO_AUTH_TOKEN is not set",
        "config error: channels.twilio_status.auth_token_env: TWILIO_AUTH_TOKEN is not set",
    ]
    (unknown,) = [line for line in errors if "carrier_pigeon" in line]
    assert unknown.startswith("config error: channels.carrier_pigeon: unknown; known: ")
    assert "twilio_sms" in unknown.split("known: ")[1].split(", ")


def test_check_config_names_gateway_catalog_when_the_catalog_is_missing(tmp_path: Path) -> None:
    overrides = {"gateway": {"catalog": "config/no-such-catalog.toml"}}
    result = project(tmp_path, overrides).run("check-config")
    assert result.returncode != 0
    assert "config error: gateway.catalog: " in result.stderr
    assert "no-such-catalog.toml" in result.stderr


async def make_requests(url: str, count: int) -> list[str]:
    """``count`` service requests, each with a pending folder delivery job; their ids."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    ids = [uuid.uuid4().hex for _ in range(count)]
    try:
        async with engine.begin() as conn:
            for serial, request_id in enumerate(ids, start=1):
                request = ServiceRequest(
                    id=request_id,
                    tracking_number=f"CLI{serial:03d}",
                    channel="twilio_sms",
                    channel_message_id=f"SM{request_id}",
                    received_at=now,
                    reporter=Reporter(address="+14015550123"),
                    description="Pothole on Spring St",
                    original_text="Pothole on Spring St",
                )
                await insert_request(conn, request)
                await jobs.enqueue(conn, [jobs.delivery(request_id, "folder")], now=now)
    finally:
        await engine.dispose()
    return ids


async def job_states(url: str, state: str | None = None) -> dict[int, str]:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            if state is not None:
                await conn.execute(update(outbox).values(state=state, last_error="HTTP 500"))
            rows = await conn.execute(select(outbox.c.id, outbox.c.state))
            return {job_id: job_state for job_id, job_state in rows}
    finally:
        await engine.dispose()


async def test_migrate_then_outbox_list_shows_jobs(tmp_path: Path) -> None:
    gateway = project(tmp_path)
    migrated = gateway.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is at the newest schema" in migrated.stdout
    request_ids = await make_requests(gateway.database_url, 2)

    result = gateway.run("outbox", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATE", "KIND", "TARGET"]
    assert len(lines) == 3
    # Newest first, each named by its request's tracking number, not its internal id.
    numbers = [f"CLI{serial:03d}" for serial in range(1, len(request_ids) + 1)]
    for line, request_id, number in zip(
        lines[1:], reversed(request_ids), reversed(numbers), strict=True
    ):
        assert line.split()[1:4] == ["pending", "deliver", "folder"]
        assert number in line and request_id not in line


async def test_outbox_retry_and_retry_dead_make_dead_jobs_pending(gateway: Gateway) -> None:
    await make_requests(gateway.database_url, 3)
    states = await job_states(gateway.database_url, state=jobs.DEAD)
    first, *others = sorted(states)

    result = gateway.run("outbox", "retry", str(first))
    assert result.returncode == 0, result.stderr
    assert "1 job(s) due now" in result.stdout
    states = await job_states(gateway.database_url)
    assert states == {first: jobs.PENDING, **dict.fromkeys(others, jobs.DEAD)}

    result = gateway.run("outbox", "retry-dead")
    assert result.returncode == 0, result.stderr
    assert "2 dead job(s) due now" in result.stdout
    assert set((await job_states(gateway.database_url)).values()) == {jobs.PENDING}


def test_outbox_retry_of_an_unknown_job_fails(gateway: Gateway) -> None:
    result = gateway.run("outbox", "retry", "4242")
    assert result.returncode != 0
    assert "0 job(s) due now" in result.stdout


async def store_unparsed(url: str, body: bytes, error: str) -> int:
    """Keep ``body`` as the ingest does when the channel could not parse it; the row id."""
    engine = make_engine(url)
    envelope = Envelope(
        "twilio_sms",
        body,
        {"content-type": "application/x-www-form-urlencoded"},
        "http://127.0.0.1:8080/webhooks/twilio/sms",
    )
    try:
        async with engine.begin() as conn:
            return (await insert_unparsed(conn, envelope, error)).inbound_id
    finally:
        await engine.dispose()


async def inbound_rows(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return {r.provider_id: r for r in await conn.execute(select(inbound_messages))}
    finally:
        await engine.dispose()


async def test_inbound_list_unparsed_shows_a_malformed_webhook(gateway: Gateway) -> None:
    runtime = Runtime(make_settings(gateway.root, gateway.database_url, folder_only(gateway.root)))
    async with serve(runtime) as client:
        bad = await post_twilio(client, b"From=%2B14015550142&Body=no+sid+here")
        good = await post_twilio(client, SMS.read_bytes())
        assert (bad.status, good.status) == (400, 200)
    unparsed_id = next(r.id for r in (await inbound_rows(gateway.database_url)).values()
                       if r.state == "unparsed")  # fmt: skip

    result = gateway.run("inbound", "list", "--unparsed")
    assert result.returncode == 0, result.stderr
    header, line = result.stdout.splitlines()
    assert header.split()[:3] == ["ID", "STATE", "CHANNEL"]
    assert line.split()[:3] == [str(unparsed_id), "unparsed", "twilio_sms"]
    assert line.endswith("MessageSid is missing")
    assert SMS_SID not in result.stdout


async def test_inbound_reprocess_turns_a_fixed_message_into_a_received_one(
    gateway: Gateway,
) -> None:
    # A good body kept as unparsed stands for a message the channel failed on before a fix.
    inbound_id = await store_unparsed(gateway.database_url, SMS.read_bytes(), "old parser bug")

    result = gateway.run("inbound", "reprocess", str(inbound_id))
    assert result.returncode == 0, result.stderr
    assert f"{inbound_id}: parsed into 1 message(s), 1 new" in result.stdout
    rows = await inbound_rows(gateway.database_url)
    assert rows[SMS_SID].state == "received"
    assert rows[SMS_SID].message["sender"] == "+14015550123"
    assert {r.state for r in rows.values() if r.id == inbound_id} == {"reparsed"}

    again = gateway.run("inbound", "reprocess", str(inbound_id))
    assert again.returncode != 0
    assert "not unparsed (state reparsed)" in again.stdout


async def test_inbound_reprocess_all_unparsed(gateway: Gateway) -> None:
    body = SMS.read_bytes()
    other = body.replace(SMS_SID.encode(), b"SM" + b"0" * 32)
    fixed = [await store_unparsed(gateway.database_url, b, "old parser bug") for b in (body, other)]
    broken = await store_unparsed(gateway.database_url, b"Body=still+no+sid", "no sid")

    result = gateway.run("inbound", "reprocess", "--all-unparsed")
    # One message is still unparseable, and the command says so with its exit code.
    assert result.returncode == 1
    for inbound_id in fixed:
        assert f"{inbound_id}: parsed into 1 message(s), 1 new" in result.stdout
    assert f"{broken}: still unparsed: MessageSid is missing" in result.stdout
    rows = await inbound_rows(gateway.database_url)
    assert rows[SMS_SID].state == rows["SM" + "0" * 32].state == "received"
    _, left = gateway.run("inbound", "list", "--unparsed").stdout.splitlines()
    assert left.split()[:2] == [str(broken), "unparsed"]
