"""Scale-out: two web, two worker and one SMTP process on one PostgreSQL under mixed webhook and
SMTP load, with processes SIGKILLed and restarted mid-stream: every acknowledged message is one
case in the CRM, filed once, and no job is left stuck.

What a webhook or an SMTP session got no answer for is sent again at the end, as Twilio's retry
and a sending mail server would. The CRM honours Idempotency-Key, so a delivery retried after a
kill makes no second case; a second case would mean the gateway made two requests of one message.
"""

from __future__ import annotations

import asyncio
import random
import smtplib
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.config.settings import normalize_database_url
from gateway.outbox import jobs
from gateway.store.database import make_engine
from gateway.store.migrate import upgrade
from gateway.store.schema import inbound_messages, outbox, service_requests
from tests.conftest import _create_postgres_database, _drop_postgres_database, postgres_admin_url
from tests.fakes.crm import FakeCrm
from tests.support import write_config
from tests.system.process import (
    WEBHOOK_SECRET,
    Gateway,
    bodies,
    free_port,
    marker,
    send_all,
    wait_for_cases,
)

pytestmark = pytest.mark.timeout(300)

SMS, MAILS = 160, 40
LEASE = 3.0  # short, so that a killed worker's jobs are taken again within the test


@pytest.fixture
async def postgres_url(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database (several processes need PostgreSQL)."""
    if postgres_admin_url() is None:
        pytest.skip("TEST_DATABASE_URL is not set")
    name, raw = await _create_postgres_database()
    url = normalize_database_url(raw, tmp_path)
    await upgrade(url)
    try:
        yield url
    finally:
        await _drop_postgres_database(name)


def config(crm: FakeCrm) -> dict[str, Any]:
    return {
        "outbox": {
            "poll_interval_seconds": 0.1,
            "lease_seconds": LEASE,
            "delivery_timeout_seconds": 5,
            "retry": {"base_seconds": 0.05, "max_backoff_seconds": 0.5},
        },
        "connectors": {
            "folder": {"enabled": False},
            "webhook": {"enabled": True, "url": crm.webhook_url},
        },
        "server": {"shutdown_seconds": 2},
    }


def mails(count: int) -> dict[str, bytes]:
    """``count`` distinct reports by mail, from distinct residents, each with a marker."""
    out = {}
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = f"resident{i}@example.org"
        msg["To"] = "311@localhost"
        msg["Subject"] = "Pothole"
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@example.org>"
        msg.set_content(f"pothole marker-{SMS + i:04d} in front of 280 Spring St")
        out[str(msg["Message-ID"])] = msg.as_bytes()
    return out


async def send_mails(port: int, pending: dict[str, bytes], accepted: set[str]) -> None:
    """Send each mail in its own session; record those answered 250."""

    def send(raw: bytes) -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=15) as client:
                client.sendmail("resident@example.org", ["311@localhost"], raw)
            return True
        except (smtplib.SMTPException, OSError):
            return False

    for message_id, raw in pending.items():
        if await asyncio.to_thread(send, raw):
            accepted.add(message_id)


async def chaos(victims: list[Gateway], rng: random.Random, rounds: int) -> int:
    """SIGKILL a random process and start it again, ``rounds`` times; returns the kills."""
    for _ in range(rounds):
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        victim = rng.choice(victims)
        await victim.kill()
        await asyncio.sleep(rng.uniform(0.1, 0.5))
        await victim.start()
    return rounds


async def test_two_of_each_with_kills_file_every_message_once(
    tmp_path: Path, crm: FakeCrm, postgres_url: str
) -> None:
    write_config(tmp_path, config(crm))
    crm.webhook_secret = WEBHOOK_SECRET
    web_ports, smtp_port = [free_port(), free_port()], free_port()
    webs = [
        Gateway(tmp_path, port, postgres_url, "web", f"web{i}") for i, port in enumerate(web_ports)
    ]
    workers = [
        Gateway(tmp_path, free_port(), postgres_url, "worker", f"worker{i}") for i in range(2)
    ]
    smtp = Gateway(tmp_path, smtp_port, postgres_url, "smtp", "smtp")
    everyone = [*webs, *workers, smtp]
    texts, letters = bodies(SMS), mails(MAILS)
    acked: set[str] = set()
    accepted: set[str] = set()
    try:
        await asyncio.gather(*(p.start() for p in everyone))
        halves = [dict(list(texts.items())[i::2]) for i in range(2)]
        urls = [f"http://127.0.0.1:{port}/webhooks/twilio/sms" for port in web_ports]
        kills = await asyncio.gather(
            send_all(urls[0], halves[0], acked),
            send_all(urls[1], halves[1], acked),
            send_mails(smtp_port, letters, accepted),
            chaos(everyone, random.Random(311), rounds=5),
        )
        assert kills[-1] == 5
        # What got no answer is sent again, now that every process is up.
        await send_all(urls[0], {k: v for k, v in texts.items() if k not in acked}, acked)
        await send_mails(
            smtp_port, {k: v for k, v in letters.items() if k not in accepted}, accepted
        )
        assert acked == set(texts) and accepted == set(letters)
        await wait_for_cases(crm, SMS + MAILS)
        await no_delivery_left(postgres_url)
    finally:
        await asyncio.gather(*(p.stop() for p in everyone), return_exceptions=True)

    found = [marker(c["original_text"]) for c in crm.cases.values()]
    assert len(found) == len(set(found)) == SMS + MAILS, "each message is one case, never two"
    engine = make_engine(postgres_url)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(inbound_messages))).scalar()
        requests = (await conn.execute(select(func.count()).select_from(service_requests))).scalar()
        states = {r.state for r in await conn.execute(select(inbound_messages.c.state))}
    await engine.dispose()
    assert stored == requests == SMS + MAILS, "each message stored once and made one request"
    assert states == {"processed"}


async def no_delivery_left(url: str) -> None:
    """Wait until every delivery job is done: none pending, in flight or dead."""
    engine = make_engine(url)
    try:
        for _ in range(200):
            async with engine.connect() as conn:
                query = select(outbox.c.state).where(outbox.c.kind == jobs.DELIVER)
                states = [r.state for r in await conn.execute(query)]
            if states and set(states) == {jobs.DONE}:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"deliveries left: {sorted(set(states))}")
    finally:
        await engine.dispose()
