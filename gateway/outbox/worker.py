"""The delivery worker: claims due jobs, calls their connector, settles each one durably.

A request is filed at least once by the outbox and at most once by the case system, because every
attempt carries the job's stable idempotency key; the case id is stored in the same transaction
that marks the job done.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import metrics
from gateway.connectors import Connector
from gateway.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from gateway.outbox import jobs
from gateway.outbox.breaker import CircuitBreaker
from gateway.outbox.policy import Dead, decide
from gateway.records import CaseRef, Status
from gateway.rounds import repeat_rounds
from gateway.settings import OutboxSettings
from gateway.store import requests

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxWorker:
    """Delivers outbox jobs to their connectors until stopped."""

    def __init__(
        self,
        engine: AsyncEngine,
        connectors: Mapping[str, Connector],
        settings: OutboxSettings,
        *,
        wake: asyncio.Event | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.connectors = connectors
        self.settings = settings
        self.wake = wake or asyncio.Event()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy.
        self.breakers = {name: CircuitBreaker(settings.breaker) for name in connectors}

    async def run_forever(self) -> None:
        """Deliver, then sleep until woken or the poll interval passes."""
        poll = self.settings.poll_interval_seconds
        await repeat_rounds(self.run_once, self.wake, poll, "outbox")

    async def run_once(self) -> int:
        """One round over every connector; returns how many jobs were attempted."""
        rounds = [self._round(name) for name in self.connectors]
        return sum(await asyncio.gather(*rounds))

    async def _round(self, name: str) -> int:
        capacity = self.breakers[name].capacity(self.settings.batch_size)
        claimed = await jobs.claim(
            self.engine,
            name,
            now=self.clock(),
            limit=capacity,
            lease_seconds=self.settings.lease_seconds,
        )
        await asyncio.gather(*(self._attempt(job) for job in claimed))
        return len(claimed)

    async def _attempt(self, job: jobs.Job) -> None:
        breaker = self.breakers[job.connector]
        if not breaker.allow():
            await jobs.release(self.engine, job, now=self.clock())
            return
        try:
            ref = await self._deliver(job)
        except DeliveryError as exc:
            breaker.failed()
            await self._failed(job, exc)
            return
        breaker.succeeded()
        await self._delivered(job, ref)

    async def _deliver(self, job: jobs.Job) -> CaseRef:
        async with self.engine.connect() as conn:
            request = await requests.get_request(conn, job.request_id)
        if request is None:
            raise PermanentDeliveryError(f"request {job.request_id} no longer exists")
        connector = self.connectors[job.connector]
        timeout = self.settings.delivery_timeout_seconds
        try:
            return await asyncio.wait_for(connector.submit(request, job.idempotency_key), timeout)
        except TimeoutError as exc:
            raise TransientDeliveryError(f"no answer within {timeout:g} s") from exc
        except ConfigError as exc:
            raise PermanentDeliveryError(f"configuration: {exc}") from exc
        except DeliveryError:
            raise
        except Exception as exc:
            # A connector bug must not kill the worker; treat it as worth retrying and say so.
            log.exception("outbox.connector_error", extra={"connector": job.connector})
            raise TransientDeliveryError(f"connector error: {exc!r}") from exc

    async def _delivered(self, job: jobs.Job, ref: CaseRef) -> None:
        now = self.clock()
        async with self.engine.begin() as conn:
            if not await jobs.settle(conn, job, now=now, state=jobs.DONE, case_id=ref.case_id):
                log.warning("outbox.claim_lost", extra={"job": job.id})
                return
            await requests.record_case(conn, job.request_id, case_id=ref.case_id, token=ref.token)
            await requests.add_event(
                conn,
                job.request_id,
                "delivered",
                status=Status.SUBMITTED.value,
                detail={
                    "connector": job.connector,
                    "case_id": ref.case_id,
                    "token": ref.token,
                    "attempts": job.attempts,
                },
            )
        metrics.DELIVERIES.labels(job.connector, "delivered").inc()
        log.info(
            "outbox.delivered",
            extra={
                "job": job.id,
                "connector": job.connector,
                "case_id": ref.case_id,
                "attempts": job.attempts,
            },
        )

    async def _failed(self, job: jobs.Job, error: DeliveryError) -> None:
        now = self.clock()
        outcome = decide(
            error,
            attempts=job.attempts,
            retry_from=job.retry_from,
            now=now,
            retry=self.settings.retry,
            rng=self.rng,
        )
        async with self.engine.begin() as conn:
            if isinstance(outcome, Dead):
                settled = await jobs.settle(
                    conn, job, now=now, state=jobs.DEAD, last_error=outcome.reason
                )
                if settled:
                    await requests.add_event(
                        conn,
                        job.request_id,
                        "delivery_dead",
                        status=Status.FAILED.value,
                        detail={"connector": job.connector, "reason": outcome.reason},
                    )
                    await requests.set_status(conn, job.request_id, Status.FAILED.value)
            else:
                await jobs.settle(
                    conn,
                    job,
                    now=now,
                    state=jobs.PENDING,
                    next_attempt_at=outcome.at,
                    last_error=outcome.reason,
                )
        result = "dead" if isinstance(outcome, Dead) else "retry"
        metrics.DELIVERIES.labels(job.connector, result).inc()
        log.warning(
            "outbox.failed",
            extra={
                "job": job.id,
                "connector": job.connector,
                "result": result,
                "reason": error.reason,
                "attempts": job.attempts,
            },
        )
