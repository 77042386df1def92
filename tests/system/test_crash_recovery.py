"""SIGKILL mid-stream: every acknowledged message is stored and filed in the CRM exactly once.

The gateway runs as a real process (``python -m gateway run``) on a SQLite file, delivering to a
CRM on loopback (a signed JSON webhook that honours Idempotency-Key), slow enough for deliveries
to be in flight at the kill.
Messages whose webhook failed are sent again after the restart, as Twilio's retry would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.store.database import make_engine
from gateway.store.schema import inbound_messages
from tests.fakes.crm import FakeCrm
from tests.support import write_config
from tests.system.process import (
    WEBHOOK_SECRET,
    Gateway,
    bodies,
    delivery_in_flight,
    free_port,
    marker,
    send_all,
    wait_for_cases,
)

pytestmark = pytest.mark.timeout(180)

TOTAL = 300
KILL_AFTER_ACKS = 120
RECOVERY_SECONDS = 15
BATCH = 20  # the outbox's default batch_size: one round's claim


async def test_sigkill_mid_stream_loses_nothing_acked_and_files_nothing_twice(
    tmp_path: Path, crm: FakeCrm
) -> None:
    write_config(
        tmp_path,
        {
            "outbox": {
                "poll_interval_seconds": 0.05,
                # Longer than the recovery target: only taking the dead life's jobs back at
                # start, not their leases running out, can meet it.
                "lease_seconds": 60,
                "delivery_timeout_seconds": 5,
                "retry": {"base_seconds": 0.05, "max_backoff_seconds": 0.5},
            },
            "connectors": {
                "folder": {"enabled": False},
                "webhook": {"enabled": True, "url": crm.webhook_url},
            },
            "smtp": {"enabled": False},
        },
    )
    crm.webhook_secret = WEBHOOK_SECRET
    # The CRM holds the first batch of deliveries, so that they are in flight (claimed, leased,
    # not filed) when the process dies; after the kill it drops them without making cases.
    crm.hang_next(BATCH, 60)
    port, database = free_port(), tmp_path / "gateway.db"
    gateway = Gateway(tmp_path, port, database)
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
    messages = bodies(TOTAL)
    acked: set[str] = set()
    try:
        await gateway.start()
        enough = asyncio.Event()
        stream = asyncio.create_task(send_all(url, messages, acked, enough, KILL_AFTER_ACKS))
        await asyncio.wait_for(enough.wait(), 60)
        # Killed while the CRM holds a delivery: its job is claimed and leased, not done.
        await asyncio.wait_for(delivery_in_flight(crm), 60)
        await gateway.kill()
        crm.abandon_held()
        await stream
        acked_before_kill = set(acked)
        assert KILL_AFTER_ACKS <= len(acked_before_kill) < TOTAL

        await gateway.start()
        restarted = asyncio.get_running_loop().time()
        # Recovery in seconds: the jobs the dead process held are taken back at start, not
        # after their lease, so everything acknowledged before the kill is filed within 15 s.
        await wait_for_markers(crm, {marker(messages[sid].decode()) for sid in acked_before_kill})
        recovery = asyncio.get_running_loop().time() - restarted
        assert recovery <= RECOVERY_SECONDS, f"recovered in {recovery:.1f} s"
        unacked = {sid: body for sid, body in messages.items() if sid not in acked}
        await send_all(url, unacked, acked)
        assert acked == set(messages)
        await wait_for_cases(crm, len(messages))
    finally:
        await gateway.stop()

    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.connect() as conn:
        stored = [r.provider_id for r in await conn.execute(select(inbound_messages.c.provider_id))]
    await engine.dispose()
    assert sorted(stored) == sorted(messages), "every acknowledged message is stored, once"
    markers = [marker(c["original_text"]) for c in crm.cases.values()]
    assert len(markers) == len(set(markers)) == TOTAL, "each message is one case, never two"


async def wait_for_markers(crm: FakeCrm, wanted: set[str]) -> None:
    """Wait (at most twice the recovery target) until a case carries each of ``wanted``."""
    for _ in range(int(RECOVERY_SECONDS * 2 / 0.05)):
        filed = {marker(c["original_text"]) for c in crm.cases.values()}
        if wanted <= filed:
            return
        await asyncio.sleep(0.05)
    missing = len(wanted - filed)
    raise AssertionError(f"{missing} messages acknowledged before the kill were not filed")
