"""Outbox rows: enqueue, claim with a lease, and settle (done, retry later, dead).

Claiming is one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`` so that on
PostgreSQL any number of workers in any number of processes take disjoint jobs; SQLite runs one
worker and a single statement is atomic there. Every settlement is conditional on the claim token,
so a worker whose lease ran out cannot overwrite the work of the worker that took the job over.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.schema import outbox, service_requests

PENDING, IN_FLIGHT, DONE, DEAD = "pending", "in_flight", "done", "dead"
DELIVER, NOTIFY, FETCH = "deliver", "notify", "fetch"


@dataclass(frozen=True, slots=True)
class NewJob:
    """Work to enqueue; its key is stable, so enqueueing the same work twice does nothing."""

    kind: str
    target: str
    key: str
    request_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


def delivery(request_id: str, connector: str) -> NewJob:
    """The job that files ``request_id`` with ``connector``."""
    # Stable across retries and workers: the case system sees one key per request.
    return NewJob(DELIVER, connector, f"deliver-{connector}-{request_id}", request_id)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    request_id: str | None
    kind: str
    target: str
    state: str
    attempts: int
    created_at: datetime
    retry_from: datetime
    next_attempt_at: datetime
    idempotency_key: str
    payload: Mapping[str, Any]
    last_error: str | None
    remote_id: str | None
    claim_token: str | None


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(**{name: m[name] for name in Job.__dataclass_fields__})


async def enqueue(conn: AsyncConnection, new_jobs: Sequence[NewJob], *, now: datetime) -> None:
    """Add jobs in the caller's transaction, in one statement; known keys are skipped."""
    if not new_jobs:
        return
    rows = [
        {
            "request_id": j.request_id,
            "kind": j.kind,
            "target": j.target,
            "state": PENDING,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "retry_from": now,
            "next_attempt_at": now,
            "idempotency_key": j.key,
            "payload": dict(j.payload),
        }
        for j in new_jobs
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
    await conn.execute(statement, rows)


async def claim(
    engine: AsyncEngine,
    kind: str,
    target: str,
    *,
    now: datetime,
    limit: int,
    lease_seconds: float,
) -> list[Job]:
    """Take up to ``limit`` due jobs for one target: pending and due, or leased and expired."""
    if limit <= 0:
        return []
    c = outbox.c
    due = or_(
        and_(c.state == PENDING, c.next_attempt_at <= now),
        and_(c.state == IN_FLIGHT, c.lease_until < now),
    )
    chosen = (
        select(c.id)
        .where(due, c.kind == kind, c.target == target)
        .order_by(c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    token = uuid.uuid4().hex
    statement = (
        update(outbox)
        .where(c.id.in_(chosen))
        .values(
            state=IN_FLIGHT,
            attempts=c.attempts + 1,
            lease_until=now + timedelta(seconds=lease_seconds),
            claim_token=token,
            updated_at=now,
        )
        .returning(*outbox.c)
    )
    async with engine.begin() as conn:
        return [_job(row) for row in await conn.execute(statement)]


async def tracking_numbers(engine: AsyncEngine, jobs: Sequence[Job]) -> dict[str, str]:
    """The tracking numbers of the requests ``jobs`` are for, by request id (for their logs)."""
    ids = {job.request_id for job in jobs if job.request_id}
    if not ids:
        return {}
    c = service_requests.c
    query = select(c.id, c.tracking_number).where(c.id.in_(ids))
    async with engine.connect() as conn:
        return {row.id: row.tracking_number for row in await conn.execute(query)}


async def settle(
    conn: AsyncConnection, job: Job, *, now: datetime, state: str, **values: Any
) -> bool:
    """Move a claimed job to ``state``; False when the claim was lost to another worker."""
    statement = (
        update(outbox)
        .where(outbox.c.id == job.id, outbox.c.claim_token == job.claim_token)
        .values(state=state, updated_at=now, lease_until=None, **values)
    )
    result = await conn.execute(statement)
    return bool(result.rowcount)


async def renew(engine: AsyncEngine, token: str, *, now: datetime, lease_seconds: float) -> int:
    """Extend the lease of the jobs one claim still holds (the worker's heartbeat); returns how
    many it still holds. Settled jobs and jobs another worker took over are left alone."""
    c = outbox.c
    statement = (
        update(outbox)
        .where(c.claim_token == token, c.state == IN_FLIGHT)
        .values(lease_until=now + timedelta(seconds=lease_seconds))
    )
    async with engine.begin() as conn:
        return int((await conn.execute(statement)).rowcount)


async def take_back_in_flight(
    engine: AsyncEngine, *, now: datetime, token: str | None = None
) -> int:
    """Make in-flight jobs due now: one claim's (``token``: a worker cut off while stopping), or
    every one, only for the sole worker of a database (SQLite), whose in-flight jobs can only be
    its own earlier life's, left by a crash. The attempt stays counted: it may have reached the
    target, whose idempotency key makes the retry safe."""
    c = outbox.c
    held = c.state == IN_FLIGHT
    statement = (
        update(outbox)
        .where(held if token is None else and_(held, c.claim_token == token))
        .values(
            state=PENDING, next_attempt_at=now, lease_until=None, claim_token=None, updated_at=now
        )
    )
    async with engine.begin() as conn:
        return int((await conn.execute(statement)).rowcount)


async def release(engine: AsyncEngine, job: Job, *, now: datetime) -> None:
    """Give a claimed job back untried (its target's breaker opened meanwhile)."""
    async with engine.begin() as conn:
        await settle(conn, job, now=now, state=PENDING, attempts=job.attempts - 1)


async def list_jobs(
    engine: AsyncEngine, *, state: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Job]:
    """Jobs, newest first, optionally of one state and one kind."""
    return [listed.job for listed in await listing(engine, state=state, kind=kind, limit=limit)]


async def retry(engine: AsyncEngine, job_ids: Sequence[int] | None, *, now: datetime) -> int:
    """Make dead (or given) jobs due now with a fresh attempt count and horizon."""
    statement = update(outbox).values(
        state=PENDING,
        attempts=0,
        next_attempt_at=now,
        retry_from=now,
        updated_at=now,
        lease_until=None,
        claim_token=None,
    )
    if job_ids is None:
        statement = statement.where(outbox.c.state == DEAD)
    else:
        statement = statement.where(outbox.c.id.in_(job_ids), outbox.c.state != DONE)
    async with engine.begin() as conn:
        return int((await conn.execute(statement)).rowcount)


async def depth(engine: AsyncEngine) -> dict[str, int]:
    """How many jobs are in each state."""
    query = select(outbox.c.state, func.count()).group_by(outbox.c.state)
    async with engine.connect() as conn:
        counts = {state: int(n) for state, n in await conn.execute(query)}
    return {state: counts.get(state, 0) for state in (PENDING, IN_FLIGHT, DONE, DEAD)}


async def waiting_for_disabled(engine: AsyncEngine, enabled: Sequence[str]) -> dict[str, int]:
    """Notify jobs not sent yet whose notifier is not in ``enabled``, counted by notifier."""
    c = outbox.c
    query = (
        select(c.target, func.count())
        .where(c.kind == NOTIFY, c.state.in_([PENDING, IN_FLIGHT]), c.target.not_in(enabled))
        .group_by(c.target)
    )
    async with engine.connect() as conn:
        return {str(target): int(n) for target, n in await conn.execute(query)}


async def request_of_sent(conn: AsyncConnection, remote_ids: Sequence[str]) -> str | None:
    """The request one of our sent messages (by the provider's id for it) belonged to."""
    c = outbox.c
    query = (
        select(c.request_id)
        .where(c.remote_id.in_(list(remote_ids)), c.kind == NOTIFY, c.request_id.is_not(None))
        .limit(1)
    )
    found = (await conn.execute(query)).scalar_one_or_none()
    return str(found) if found is not None else None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message we sent: the request it belonged to and the notifier that sent it."""

    request_id: str | None
    target: str


async def sent_message(conn: AsyncConnection, remote_id: str) -> SentMessage | None:
    """The notification the provider knows as ``remote_id``."""
    c = outbox.c
    query = select(c.request_id, c.target).where(c.kind == NOTIFY, c.remote_id == remote_id)
    row = (await conn.execute(query)).first()
    return SentMessage(row.request_id, row.target) if row is not None else None


@dataclass(frozen=True, slots=True)
class Listed:
    """A job as staff list it: the job and the tracking number of its request, if any."""

    job: Job
    tracking_number: str | None


def _listing() -> Any:
    number = service_requests.c.tracking_number
    joined = outbox.outerjoin(service_requests, service_requests.c.id == outbox.c.request_id)
    return select(outbox, number.label("tracking_number")).select_from(joined)


async def listing(
    engine: AsyncEngine, *, state: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Listed]:
    """Jobs with their requests' tracking numbers, newest first."""
    query = _listing().order_by(outbox.c.id.desc()).limit(limit)
    if state:
        query = query.where(outbox.c.state == state)
    if kind:
        query = query.where(outbox.c.kind == kind)
    async with engine.connect() as conn:
        return [Listed(_job(row), row.tracking_number) for row in await conn.execute(query)]


async def get_listed(engine: AsyncEngine, job_id: int) -> Listed | None:
    """One job with its request's tracking number."""
    async with engine.connect() as conn:
        row = (await conn.execute(_listing().where(outbox.c.id == job_id))).first()
    return Listed(_job(row), row.tracking_number) if row is not None else None


async def states_of(engine: AsyncEngine, job_ids: Sequence[int]) -> dict[int, str]:
    """The state of each of ``job_ids`` that exists."""
    query = select(outbox.c.id, outbox.c.state).where(outbox.c.id.in_(list(job_ids)))
    async with engine.connect() as conn:
        return {int(i): str(state) for i, state in await conn.execute(query)}
