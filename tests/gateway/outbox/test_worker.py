"""The delivery worker against a real GeoReport v2 CRM on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import OutboxSettings
from gateway.connectors.open311 import Open311Connector
from gateway.outbox import jobs
from gateway.outbox.worker import OutboxWorker, utcnow
from gateway.store import requests
from gateway.store.database import make_engine
from gateway.store.schema import service_requests
from tests.fakes.crm import FakeCrm
from tests.gateway.outbox.conftest import fast_settings, seed

_OPEN: list[Open311Connector] = []


@pytest.fixture(autouse=True)
async def _close_connectors() -> AsyncIterator[None]:
    yield
    while _OPEN:
        await _OPEN.pop().close()


def worker_for(
    engine: AsyncEngine,
    crm: FakeCrm,
    settings: OutboxSettings | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> OutboxWorker:
    connector = Open311Connector({"endpoint": crm.open311_endpoint})
    _OPEN.append(connector)
    return OutboxWorker(engine, {"open311": connector}, settings or fast_settings(), clock=clock)


async def drain(worker: OutboxWorker, until: Callable[[], Awaitable[bool]]) -> None:
    """Run worker rounds until ``until`` holds; fail after 30 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        await worker.run_once()
        if await until():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the outbox did not settle in time")


async def only_job(engine: AsyncEngine) -> jobs.Job:
    (job,) = await jobs.list_jobs(engine)
    return job


async def test_crm_failing_20_times_then_recovering_is_delivered_exactly_once(
    engine: AsyncEngine, crm: FakeCrm
) -> None:
    (request_id,) = await seed(engine, 1)
    crm.fail_next(20, 503)
    worker = worker_for(engine, crm)

    async def done() -> bool:
        return (await only_job(engine)).state == jobs.DONE

    await drain(worker, done)
    job = await only_job(engine)
    assert crm.posts == 21
    assert len(crm.cases) == 1
    (case_id,) = crm.cases
    assert job.remote_id == case_id
    assert job.attempts == 21
    async with engine.connect() as conn:
        request = await requests.get_request(conn, request_id)
        history = await requests.events(conn, request_id)
    assert request is not None
    assert request.case_id == case_id
    assert request.status.value == "submitted"
    assert [e["kind"] for e in history] == ["delivered"]


async def test_every_attempt_carries_the_same_idempotency_key(
    engine: AsyncEngine, crm: FakeCrm
) -> None:
    await seed(engine, 1)
    # The CRM makes the case but answers too late: the retry must not make a second one.
    crm.hang_next(1, 1.0)
    settings = dataclasses.replace(fast_settings(), delivery_timeout_seconds=0.2)
    worker = worker_for(engine, crm, settings)

    async def done() -> bool:
        return (await only_job(engine)).state == jobs.DONE

    await drain(worker, done)
    assert crm.posts == 2
    assert len(crm.cases) == 1
    (case,) = crm.cases.values()
    assert case["idempotency_key"] == (await only_job(engine)).idempotency_key


async def test_retry_after_on_429_is_honoured(engine: AsyncEngine, crm: FakeCrm) -> None:
    await seed(engine, 1)
    crm.fail_next(1, 429, retry_after="120")
    before = datetime.now(UTC)
    await worker_for(engine, crm).run_once()
    job = await only_job(engine)
    assert job.state == jobs.PENDING
    assert job.next_attempt_at >= before + timedelta(seconds=119)
    assert "429" in (job.last_error or "")
    # Not due yet: another round sends nothing.
    await worker_for(engine, crm).run_once()
    assert crm.posts == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_non_retryable_answer_goes_dead_at_once_with_the_reason(
    engine: AsyncEngine, crm: FakeCrm, status: int
) -> None:
    (request_id,) = await seed(engine, 1)
    crm.fail_next(1, status, errors=[{"code": status, "description": "service_code not known"}])
    await worker_for(engine, crm).run_once()
    job = await only_job(engine)
    assert job.state == jobs.DEAD
    assert job.attempts == 1
    assert "service_code not known" in (job.last_error or "")
    async with engine.connect() as conn:
        request = await requests.get_request(conn, request_id)
        history = await requests.events(conn, request_id)
    assert request is not None and request.status.value == "failed"
    assert history[-1]["kind"] == "delivery_dead"


async def test_job_past_its_attempts_goes_dead_and_retry_delivers_it(
    engine: AsyncEngine, crm: FakeCrm
) -> None:
    await seed(engine, 1)
    crm.fail_next(3, 500)
    worker = worker_for(engine, crm, fast_settings(max_attempts=3))

    async def dead() -> bool:
        return (await only_job(engine)).state == jobs.DEAD

    await drain(worker, dead)
    job = await only_job(engine)
    assert job.attempts == 3
    assert "gave up after 3 attempts" in (job.last_error or "")
    assert crm.cases == {}

    assert await jobs.retry(engine, [job.id], now=datetime.now(UTC)) == 1

    async def done() -> bool:
        return (await only_job(engine)).state == jobs.DONE

    await drain(worker, done)
    assert len(crm.cases) == 1


async def test_retries_stop_at_the_horizon(engine: AsyncEngine, crm: FakeCrm) -> None:
    await seed(engine, 1)
    crm.fail_next(100, 500)
    now = [datetime.now(UTC)]
    settings = fast_settings(horizon_hours=1.0)
    worker = worker_for(engine, crm, settings, clock=lambda: now[0])
    await worker.run_once()
    assert (await only_job(engine)).state == jobs.PENDING
    # Two hours later the next failure would be past the one-hour horizon.
    now[0] += timedelta(hours=2)
    await worker.run_once()
    job = await only_job(engine)
    assert job.state == jobs.DEAD
    assert "horizon" in (job.last_error or "")


async def test_open_breaker_stops_calls_until_its_probe(engine: AsyncEngine, crm: FakeCrm) -> None:
    await seed(engine, 3)
    crm.fail_next(1000, 503)
    settings = fast_settings()
    settings = dataclasses.replace(
        settings, batch_size=1, breaker=dataclasses.replace(settings.breaker, reset_seconds=60)
    )
    worker = worker_for(engine, crm, settings)
    for _ in range(20):
        await worker.run_once()
        await asyncio.sleep(0.01)
    # Five consecutive failures open the breaker; nothing more is sent for a minute.
    assert crm.posts == settings.breaker.failure_threshold
    assert worker.breakers[(jobs.DELIVER, "open311")].state == "open"


async def test_job_of_a_dead_worker_is_taken_again_after_its_lease(
    engine: AsyncEngine, crm: FakeCrm
) -> None:
    await seed(engine, 1)
    now = datetime.now(UTC)
    (abandoned,) = await jobs.claim(
        engine, jobs.DELIVER, "open311", now=now, limit=1, lease_seconds=60
    )
    later = [now + timedelta(seconds=30)]
    worker = worker_for(engine, crm, clock=lambda: later[0])
    await worker.run_once()
    assert crm.posts == 0  # still leased
    later[0] = now + timedelta(seconds=61)
    await worker.run_once()
    job = await only_job(engine)
    assert job.state == jobs.DONE
    assert len(crm.cases) == 1
    # The worker that died and came back cannot overwrite the settled job.
    async with engine.begin() as conn:
        assert not await jobs.settle(conn, abandoned, now=later[0], state=jobs.PENDING)
    assert (await only_job(engine)).state == jobs.DONE


async def test_two_workers_racing_deliver_each_job_once(
    database_url: str, engine: AsyncEngine, crm: FakeCrm
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one worker; racing workers need PostgreSQL's SKIP LOCKED")
    count = 120
    await seed(engine, count)
    second_engine = make_engine(database_url)
    settings = dataclasses.replace(fast_settings(), batch_size=7)
    workers = [worker_for(engine, crm, settings), worker_for(second_engine, crm, settings)]

    async def all_done() -> bool:
        depth = await jobs.depth(engine)
        return depth[jobs.DONE] == count

    async def run(worker: OutboxWorker) -> None:
        await drain(worker, all_done)

    try:
        await asyncio.gather(*(run(w) for w in workers))
    finally:
        await second_engine.dispose()
    # Every job was sent exactly once: no double claim, even before the CRM's own dedupe.
    assert crm.posts == count
    assert len(crm.cases) == count
    assert {j.attempts for j in await jobs.list_jobs(engine, limit=count)} == {1}
    async with engine.connect() as conn:
        case_ids = [r.case_id for r in await conn.execute(select(service_requests.c.case_id))]
    assert len(set(case_ids)) == count
