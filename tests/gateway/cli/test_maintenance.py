"""``python -m gateway purge [--dry-run]`` and ``backup PATH`` run as processes: the dry run names
what would go and changes nothing, the purge does it once, and a backup taken while another
connection writes is a checked, consistent copy; PostgreSQL and an existing PATH are refused."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gateway.outbox import jobs
from gateway.records import InboundMessage, Reporter, ServiceRequest, Status
from gateway.store import requests
from gateway.store.database import make_engine
from gateway.store.inbound import Envelope, insert_messages
from gateway.store.schema import inbound_messages, service_requests
from gateway.tracking import tracking_number_for
from tests.gateway.cli.conftest import Gateway, project
from tests.gateway.cli.test_operator_errors import one_sentence
from tests.gateway.store.test_backup import fill, writing

pytestmark = pytest.mark.timeout(180)

PHONE = "+14015550123"
LONG_AGO = datetime.now(UTC) - timedelta(days=400)


async def closed_request_of_long_ago(url: str, serial: int, status: Status) -> str:
    """A request from ``PHONE`` last changed 400 days ago, with its stored message and reply."""
    engine = make_engine(url)
    number = tracking_number_for(serial)
    request = ServiceRequest(
        id=uuid.uuid4().hex,
        tracking_number=number,
        channel="twilio_sms",
        channel_message_id=f"SM{serial:032x}",
        received_at=LONG_AGO,
        updated_at=LONG_AGO,
        reporter=Reporter(phone=PHONE, address=PHONE),
        description="streetlight out at 306 Thames St",
        original_text="streetlight out at 306 Thames St",
        service_code="streetlight",
        status=status,
    )
    raw = f"From=%2B14015550123&Body=streetlight&MessageSid=SM{serial:032x}".encode()
    message = InboundMessage("twilio_sms", request.channel_message_id, PHONE, "streetlight")
    try:
        async with engine.begin() as conn:
            await requests.insert_request(conn, request)
            await insert_messages(conn, Envelope("twilio_sms", raw, {}, "http://x/"), [message])
            await conn.execute(
                update(inbound_messages)
                .where(inbound_messages.c.provider_id == request.channel_message_id)
                .values(request_id=request.id, state="processed", received_at=LONG_AGO)
            )
            note = jobs.NewJob(jobs.NOTIFY, "twilio_sms", f"k-{serial}", request.id, {"to": PHONE})
            await jobs.enqueue(conn, [note], now=LONG_AGO)
    finally:
        await engine.dispose()
    return number


async def reporters(url: str) -> dict[str, str | None]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            c = service_requests.c
            rows = await conn.execute(select(c.tracking_number, c.reporter_phone))
            return {number: phone for number, phone in rows}
    finally:
        await engine.dispose()


@pytest.fixture
async def any_database(gateway: Gateway, database_url: str) -> Gateway:
    """The project on each test database (SQLite, and PostgreSQL when it is set)."""
    return dataclasses.replace(gateway, database_url=database_url)


async def test_a_dry_run_names_what_would_go_and_the_purge_does_it_once(
    any_database: Gateway,
) -> None:
    gw = any_database
    closed = await closed_request_of_long_ago(gw.database_url, 1, Status.CLOSED)
    still_open = await closed_request_of_long_ago(gw.database_url, 2, Status.SUBMITTED)
    dry = gw.run("purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing was changed" in dry.stdout
    assert f"tracking numbers: {closed}\n" in dry.stdout and still_open not in dry.stdout
    assert "would go (last changed over 365 days ago): 1" in dry.stdout
    assert "inbound_messages 1, outbox 1" in dry.stdout
    assert PHONE not in dry.stdout + dry.stderr
    assert await reporters(gw.database_url) == {closed: PHONE, still_open: PHONE}

    done = gw.run("purge")
    assert done.returncode == 0, done.stderr
    assert f"tracking numbers: {closed}\n" in done.stdout and "went" in done.stdout
    assert await reporters(gw.database_url) == {closed: None, still_open: PHONE}
    again = gw.run("purge")
    assert "tracking numbers: none" in again.stdout


async def test_purge_needs_a_migrated_database(tmp_path: Path) -> None:
    result = project(tmp_path).run("purge", "--dry-run")
    assert result.returncode == 2
    assert "gateway migrate" in one_sentence(result.stderr)


async def test_backup_while_writing_is_checked_and_an_existing_path_is_kept(
    gateway: Gateway, tmp_path: Path
) -> None:
    live = Path(gateway.database_url.split("///", 1)[1])
    fill(live)
    await closed_request_of_long_ago(gateway.database_url, 3, Status.CLOSED)
    target = tmp_path / "copy.db"
    with writing(live) as writer:
        started = writer.commits
        made = gateway.run("backup", str(target))
        finished = writer.commits
    assert made.returncode == 0, made.stderr
    assert finished > started
    assert "1 requests, 3001 stored messages; integrity check ok" in made.stdout
    assert f"{target.stat().st_size} bytes" in made.stdout
    with sqlite3.connect(target) as db:
        sides = dict(db.execute("SELECT substr(key, 1, 1), count(*) FROM rate_limits GROUP BY 1"))
    assert sides["a"] == sides["b"]

    before = target.read_bytes()
    refused = gateway.run("backup", str(target))
    assert refused.returncode == 2
    assert "exists already (--force replaces it)" in one_sentence(refused.stderr)
    assert target.read_bytes() == before
    forced = gateway.run("backup", str(target), "--force")
    assert forced.returncode == 0, forced.stderr


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    gw = project(tmp_path)
    result = gw.run(
        "backup", str(tmp_path / "copy.db"), env={"DATABASE_URL": "postgresql://gw@db.invalid/gw"}
    )
    assert result.returncode == 2
    assert "pg_dump" in one_sentence(result.stderr)
    assert not (tmp_path / "copy.db").exists()
