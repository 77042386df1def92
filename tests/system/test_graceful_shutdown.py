"""SIGTERM mid-stream: the gateway stops taking work, finishes or gives back what it holds, and
exits in bounded time; nothing acknowledged is lost and nothing is filed twice.

The gateway runs as a real process (``python -m gateway run``) on a SQLite file, delivering to a
CRM on loopback that holds deliveries, so that some are in flight when the signal comes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.outbox import jobs
from gateway.store.database import make_engine
from gateway.store.schema import inbound_messages, outbox
from tests.fakes.crm import FakeCrm
from tests.support import write_config
from tests.system.process import (
    WEBHOOK_SECRET,
    Gateway,
    bodies,
    delivery_in_flight,
    free_port,
    send_all,
    wait_for_cases,
)

pytestmark = pytest.mark.timeout(180)

GRACE = 2.0  # [server] shutdown_seconds in these tests
CLEAN_UP = 5.0  # what the process may take past the grace: giving jobs back, closing


def config(crm: FakeCrm) -> dict[str, Any]:
    return {
        "server": {"shutdown_seconds": GRACE},
        "outbox": {
            "poll_interval_seconds": 0.05,
            # Longer than the test: a job left in flight would stay so, and be seen.
            "lease_seconds": 600,
            "delivery_timeout_seconds": 30,
            "retry": {"base_seconds": 0.05, "max_backoff_seconds": 0.5},
        },
        "connectors": {
            "folder": {"enabled": False},
            "webhook": {"enabled": True, "url": crm.webhook_url},
        },
        "smtp": {"enabled": False},
    }


async def states(database: Path) -> tuple[list[str], dict[str, int]]:
    """The stored messages' provider ids, and the outbox's job count by state."""
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.connect() as conn:
        stored = [r.provider_id for r in await conn.execute(select(inbound_messages.c.provider_id))]
        counts: dict[str, int] = {}
        for row in await conn.execute(select(outbox.c.state)):
            counts[row.state] = counts.get(row.state, 0) + 1
    await engine.dispose()
    return stored, counts


async def test_sigterm_under_load_gives_back_cut_off_deliveries_and_loses_nothing(
    tmp_path: Path, crm: FakeCrm
) -> None:
    total = 150
    write_config(tmp_path, config(crm))
    crm.webhook_secret = WEBHOOK_SECRET
    # The first round's deliveries outlast the grace: the stop has to cut them off.
    crm.hang_next(20, 60)
    port, database = free_port(), tmp_path / "gateway.db"
    gateway = Gateway(tmp_path, port, database)
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
    messages = bodies(total)
    acked: set[str] = set()
    try:
        await gateway.start()
        enough = asyncio.Event()
        stream = asyncio.create_task(send_all(url, messages, acked, enough, 60))
        await asyncio.wait_for(enough.wait(), 60)
        await asyncio.wait_for(delivery_in_flight(crm), 60)
        code, took = await gateway.terminate(GRACE + CLEAN_UP)
        crm.abandon_held()
        await stream
        assert code == 0
        assert took >= GRACE * 0.9, "the round in progress was given its grace"

        stored, counts = await states(database)
        assert set(acked) <= set(stored), "every acknowledged message was stored before its ack"
        assert counts.get(jobs.IN_FLIGHT, 0) == 0, f"cut-off jobs were given back: {counts}"
        assert counts.get(jobs.PENDING, 0) >= 1

        await gateway.start()
        unacked = {sid: body for sid, body in messages.items() if sid not in acked}
        await send_all(url, unacked, acked)
        assert acked == set(messages)
        await wait_for_cases(crm, total)
    finally:
        await gateway.stop()
    stored, _ = await states(database)
    assert sorted(stored) == sorted(messages), "every acknowledged message is stored, once"
    assert len(crm.cases) == total, "each message is one case, never two"


async def test_sigterm_lets_a_delivery_in_progress_finish(tmp_path: Path, crm: FakeCrm) -> None:
    settings = config(crm)
    settings["server"]["shutdown_seconds"] = 20
    write_config(tmp_path, settings)
    crm.webhook_secret = WEBHOOK_SECRET
    crm.hang_next(1, 1.5)  # well within the grace
    port, database = free_port(), tmp_path / "gateway.db"
    gateway = Gateway(tmp_path, port, database)
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
    acked: set[str] = set()
    try:
        await gateway.start()
        await send_all(url, bodies(1), acked)
        assert len(acked) == 1
        await asyncio.wait_for(delivery_in_flight(crm), 30)
        code, took = await gateway.terminate(20)
    finally:
        await gateway.stop()
    assert code == 0
    assert took < 10, "it stopped as soon as the delivery was done, not at the end of the grace"
    assert len(crm.cases) == 1
    _, counts = await states(database)
    assert counts == {jobs.DONE: 1}
