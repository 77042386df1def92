"""Leases: a working worker keeps its jobs (heartbeat), a dead one's are taken again in seconds.

On SQLite and PostgreSQL, against the real GeoReport v2 CRM on loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.outbox import jobs
from tests.fakes.crm import FakeCrm
from tests.gateway.outbox.conftest import fast_settings, seed
from tests.gateway.outbox.test_worker import only_job, worker_for

LEASE = 0.3  # seconds: the slow delivery below takes several leases


async def test_a_slow_delivery_keeps_its_lease_and_is_not_taken_twice(
    engine: AsyncEngine, crm: FakeCrm
) -> None:
    await seed(engine, 1)
    crm.hang_next(1, LEASE * 5)
    worker = worker_for(engine, crm, dataclasses.replace(fast_settings(), lease_seconds=LEASE))
    working = asyncio.create_task(worker.run_once())
    await asyncio.sleep(LEASE * 3)  # the first lease ran out long ago: only renewal holds it
    assert not working.done()
    # A second worker looking now finds nothing due.
    taken = await jobs.claim(
        engine, jobs.DELIVER, "open311", now=datetime.now(UTC), limit=5, lease_seconds=LEASE
    )
    assert taken == []
    await working
    job = await only_job(engine)
    assert job.state == jobs.DONE
    assert (crm.posts, len(crm.cases)) == (1, 1)


async def test_renewal_leaves_jobs_that_were_settled_or_taken_over(engine: AsyncEngine) -> None:
    await seed(engine, 2)
    now = datetime.now(UTC)
    first, second = await jobs.claim(
        engine, jobs.DELIVER, "open311", now=now, limit=2, lease_seconds=60
    )
    async with engine.begin() as conn:
        assert await jobs.settle(conn, first, now=now, state=jobs.DONE)
    assert first.claim_token is not None
    later = now + timedelta(seconds=30)
    assert await jobs.renew(engine, first.claim_token, now=later, lease_seconds=60) == 1
    listed = {job.id: job for job in await jobs.list_jobs(engine)}
    assert listed[first.id].state == jobs.DONE
    # Another claim token renews nothing.
    assert await jobs.renew(engine, "not-a-token", now=later, lease_seconds=60) == 0
    assert listed[second.id].state == jobs.IN_FLIGHT


async def test_the_sole_worker_takes_back_its_earlier_lifes_jobs_at_once(
    engine: AsyncEngine, crm: FakeCrm
) -> None:
    await seed(engine, 3)
    now = datetime.now(UTC)
    # A worker claimed all three with a long lease, then died.
    abandoned = await jobs.claim(
        engine, jobs.DELIVER, "open311", now=now, limit=3, lease_seconds=3600
    )
    assert len(abandoned) == 3
    worker = worker_for(engine, crm)
    assert await worker.run_once() == 0  # still leased: nothing is due
    assert await worker.take_back_abandoned() == 3
    assert await worker.run_once() == 3
    assert {job.state for job in await jobs.list_jobs(engine)} == {jobs.DONE}
    assert len(crm.cases) == 3
    # The attempt the dead worker made still counts towards the job's retries.
    assert {job.attempts for job in await jobs.list_jobs(engine)} == {2}
    # The dead life's claims can no longer settle anything.
    async with engine.begin() as conn:
        assert not await jobs.settle(conn, abandoned[0], now=now, state=jobs.PENDING)
