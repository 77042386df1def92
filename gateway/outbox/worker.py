"""The outbox worker: claims due jobs, performs them, settles each one durably.

Three kinds of job share the machinery: ``deliver`` files a request with a connector (the city's
case system), ``notify`` sends a resident a message through their channel's notifier, and
``fetch`` copies a provider's media (an MMS photo) into the gateway's own store. Each
(kind, target) lane has its own circuit breaker. A request is filed at least once by the outbox
and at most once by the case system, because every attempt carries the job's stable idempotency
key; the result is stored in the same transaction that marks the job done.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway import metrics
from gateway.config.settings import OutboxSettings
from gateway.connectors import Connector
from gateway.errors import (
    ConfigError,
    DeliveryError,
    OutsideReplyWindow,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from gateway.fetchers import Fetcher
from gateway.log import tracing
from gateway.media import with_media_links
from gateway.notifiers import Notifier
from gateway.outbox import jobs
from gateway.outbox.breaker import CircuitBreaker
from gateway.outbox.policy import Dead, decide, unhealable
from gateway.outbox.settle import Outcome, record_dead, record_done
from gateway.records import Media, Notification
from gateway.rounds import repeat_rounds
from gateway.store import contacts, received, requests
from gateway.store.codec import notification_from_json

log = logging.getLogger(__name__)
Lane = tuple[str, str]


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxWorker:
    """Performs outbox jobs until stopped."""

    def __init__(
        self,
        engine: AsyncEngine,
        connectors: Mapping[str, Connector],
        settings: OutboxSettings,
        *,
        notifiers: Mapping[str, Notifier] | None = None,
        fetchers: Mapping[str, Fetcher] | None = None,
        media_folder: Path = Path("var/media"),
        public_url: str = "",
        wake: asyncio.Event | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.connectors = connectors
        self.notifiers = notifiers or {}
        self.fetchers = fetchers or {}
        self.media_folder = media_folder
        # Stored photos are filed as links to this gateway's /media/ when it has an address.
        self.public_url = public_url
        self.settings = settings
        self.wake = wake or asyncio.Event()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy.
        lanes = [
            *((jobs.DELIVER, n) for n in connectors),
            *((jobs.NOTIFY, n) for n in self.notifiers),
            *((jobs.FETCH, n) for n in self.fetchers),
        ]
        self.breakers: dict[Lane, CircuitBreaker] = {
            lane: CircuitBreaker(settings.breaker) for lane in lanes
        }

    async def run_forever(self, stopping: asyncio.Event | None = None) -> None:
        """Work, then sleep until woken or the poll interval passes; return after the round in
        progress once ``stopping`` is set (cancelled sooner, a round gives its jobs back)."""
        poll = self.settings.poll_interval_seconds
        await repeat_rounds(self.run_once, self.wake, poll, "outbox", stopping)

    async def run_once(self) -> int:
        """One round over every lane; returns how many jobs were attempted."""
        return sum(await asyncio.gather(*(self._round(lane) for lane in self.breakers)))

    async def _round(self, lane: Lane) -> int:
        capacity = self.breakers[lane].capacity(self.settings.batch_size)
        claimed = await jobs.claim(
            self.engine,
            *lane,
            now=self.clock(),
            limit=capacity,
            lease_seconds=self.settings.lease_seconds,
        )
        if not claimed:
            return 0
        token = claimed[0].claim_token
        heartbeat = asyncio.create_task(self._keep_leased(token))
        try:
            numbers = await self._tracking_numbers(claimed)
            await asyncio.gather(
                *(self._traced(job, numbers.get(job.request_id or "")) for job in claimed)
            )
        except asyncio.CancelledError:
            # Shutting down mid-round: what is not settled is due again at once, for the next
            # worker or this one's next life, rather than when its lease runs out.
            await self._give_back(token)
            raise
        finally:
            heartbeat.cancel()
        return len(claimed)

    async def _give_back(self, token: str | None) -> None:
        if token is None:
            return
        try:
            count = await jobs.take_back_in_flight(self.engine, now=self.clock(), token=token)
        except Exception:
            # Not given back, the jobs still come back when their leases run out.
            log.warning("outbox.give_back_failed", exc_info=True)
            return
        if count:
            log.info("outbox.given_back", extra={"jobs": count})

    async def _keep_leased(self, token: str | None) -> None:
        """Renew a claim's leases while its jobs run, so a lease can be short (a dead worker's
        jobs are taken again within seconds) without a slow delivery being taken twice."""
        if token is None:
            return
        lease = self.settings.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await jobs.renew(self.engine, token, now=self.clock(), lease_seconds=lease)
            except Exception:
                # A missed beat costs at most a duplicate attempt, which idempotency keys absorb.
                log.warning("outbox.lease_renewal_failed", exc_info=True)

    async def take_back_abandoned(self) -> int:
        """At start, for the sole worker of a database: its earlier life's in-flight jobs are due
        again now rather than when their leases run out."""
        count = await jobs.take_back_in_flight(self.engine, now=self.clock())
        if count:
            log.info("outbox.taken_back", extra={"jobs": count})
        return count

    async def _tracking_numbers(self, claimed: list[jobs.Job]) -> dict[str, str]:
        try:
            return await jobs.tracking_numbers(self.engine, claimed)
        except Exception:
            # Only the logs' trace is lost; the jobs run.
            log.warning("outbox.trace_unknown", exc_info=True)
            return {}

    async def _traced(self, job: jobs.Job, tracking_number: str | None) -> None:
        """Attempt ``job`` with its request's tracking number on every log line (a task each)."""
        with tracing(tracking_number):
            await self._attempt(job)

    async def _attempt(self, job: jobs.Job) -> None:
        breaker = self.breakers[(job.kind, job.target)]
        if not breaker.allow():
            await jobs.release(self.engine, job, now=self.clock())
            return
        try:
            outcome = await self._perform(job)
        except PermanentDeliveryError as exc:
            # The job's own fault, not the lane's: it never opens the breaker for every resident.
            breaker.neutral()
            await self._failed(job, exc)
            return
        except DeliveryError as exc:
            if not isinstance(exc, OutsideReplyWindow):
                breaker.failed()
            await self._failed(job, exc)
            return
        breaker.succeeded()
        await self._succeeded(job, outcome)

    async def _perform(self, job: jobs.Job) -> Outcome:
        timeout = self.settings.delivery_timeout_seconds
        performers = {jobs.NOTIFY: self._notify, jobs.FETCH: self._fetch}
        work = performers.get(job.kind, self._deliver)(job)
        try:
            return await asyncio.wait_for(work, timeout)
        except TimeoutError as exc:
            raise TransientDeliveryError(f"no answer within {timeout:g} s") from exc
        except ConfigError as exc:
            # The operator's to fix (an unset secret): the job waits for it, retried with backoff.
            raise TransientDeliveryError(f"configuration: {exc}") from exc
        except DeliveryError:
            raise
        except Exception as exc:
            fields = {"kind": job.kind, "target": job.target, "error": type(exc).__name__}
            if unhealable(exc):
                log.warning("outbox.unhealable", extra=fields)
                raise PermanentDeliveryError(f"{job.target} cannot send this: {exc!r}") from exc
            # A connector or notifier bug must not kill the worker: retry it, and say so, with
            # the traceback on the first attempt only (not on every retry for 72 hours).
            log.error("outbox.target_error", extra=fields, exc_info=job.attempts <= 1)
            raise TransientDeliveryError(f"{job.target} failed: {exc!r}") from exc

    async def _deliver(self, job: jobs.Job) -> Outcome:
        async with self.engine.connect() as conn:
            request = await requests.get_request(conn, job.request_id or "")
        if request is None:
            raise PermanentDeliveryError(f"request {job.request_id} no longer exists")
        filed = with_media_links(request, self.public_url)
        ref = await self.connectors[job.target].submit(filed, job.idempotency_key)
        return Outcome(ref.case_id, token=ref.token)

    async def _notify(self, job: jobs.Job) -> Outcome:
        note = notification_from_json(dict(job.payload))
        async with self.engine.connect() as conn:
            # Checked at sending time, not when queued: a STOP in between is honoured.
            if await contacts.is_opted_out(conn, note.channel, note.to):
                return Outcome(None, suppressed=True)
            notifier = self.notifiers[job.target]
            if notifier.reply_window is not None:
                await self._within_window(conn, note, notifier.reply_window)
        return Outcome(await notifier.send(note, job.idempotency_key))

    async def _within_window(
        self, conn: AsyncConnection, note: Notification, window: timedelta
    ) -> None:
        """Raise ``OutsideReplyWindow`` unless the resident wrote within ``window`` (the
        notifier and the channel it answers share a name)."""
        last = await received.last_received_from(conn, note.channel, note.to)
        if last is None or self.clock() - last > window:
            hours = window.total_seconds() / 3600
            raise OutsideReplyWindow(
                f"the resident last wrote over {hours:g} hours ago: {note.channel} allows no "
                "message now; kept for staff"
            )

    async def _fetch(self, job: jobs.Job) -> Outcome:
        fetched = await self.fetchers[job.target].fetch(str(job.payload["url"]), self.media_folder)
        media = Media(
            content_type=fetched.content_type,
            path=fetched.path,
            size=fetched.size,
            sha256=fetched.sha256,
        )
        return Outcome(fetched.sha256, media=media)

    async def _succeeded(self, job: jobs.Job, outcome: Outcome) -> None:
        now = self.clock()
        async with self.engine.begin() as conn:
            settled = await jobs.settle(
                conn, job, now=now, state=jobs.DONE, remote_id=outcome.remote_id
            )
            if not settled:
                log.warning("outbox.claim_lost", extra={"job": job.id})
                return
            await record_done(conn, job, outcome)
        result = "suppressed" if outcome.suppressed else "done"
        metrics.DELIVERIES.labels(job.target, result).inc()
        log.info(
            "outbox.done",
            extra={
                "job": job.id,
                "kind": job.kind,
                "target": job.target,
                "remote_id": outcome.remote_id,
                "attempts": job.attempts,
                "suppressed": outcome.suppressed,
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
                if await jobs.settle(
                    conn, job, now=now, state=jobs.DEAD, last_error=outcome.reason
                ):
                    await record_dead(conn, job, outcome.reason)
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
        metrics.DELIVERIES.labels(job.target, result).inc()
        log.warning(
            "outbox.failed",
            extra={
                "job": job.id,
                "kind": job.kind,
                "target": job.target,
                "result": result,
                "reason": error.reason,
                "attempts": job.attempts,
            },
        )
