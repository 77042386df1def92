"""After the ack: route stored messages, make service requests, queue their deliveries.

Each round takes a batch of received messages (PostgreSQL: locked with ``SKIP LOCKED`` so several
workers share the work) and, in one transaction, acts on each (``gateway.intake.route``), files
the new requests with their first events, outbox jobs and questions, and marks the messages
processed. A
killed process leaves its messages ``received``; the next round takes them again, and nothing is
half-done. Each round also files the reports whose question went unanswered.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.intake.route import Handled, NewReport, Outcome, Router
from gateway.rounds import repeat_rounds
from gateway.store import inbound, received, requests
from gateway.store.received import Settlement

log = logging.getLogger(__name__)


class IntakeWorker:
    """Turns received messages into service requests, answers and outbox jobs."""

    def __init__(
        self,
        engine: AsyncEngine,
        router: Router,
        *,
        duplicate_window: timedelta = timedelta(days=30),
        batch_size: int = 50,
        outbox_wake: asyncio.Event | None = None,
    ) -> None:
        self.engine = engine
        self.router = router
        self.duplicate_window = duplicate_window
        self.batch_size = batch_size
        self.outbox_wake = outbox_wake

    async def run_forever(
        self, wake: asyncio.Event, poll_seconds: float, stopping: asyncio.Event | None = None
    ) -> None:
        """Process, then sleep until woken by an ingest or the poll interval passes; return
        after the batch in progress once ``stopping`` is set."""
        await repeat_rounds(self.run_once, wake, poll_seconds, "intake", stopping)

    async def run_once(self) -> int:
        """Process one batch and expire old questions; returns how many things it settled."""
        try:
            count = await self._batch(limit=self.batch_size)
        except Exception:
            # A write failed for the whole batch: go one by one so one bad message is isolated.
            log.warning("intake.batch_failed", exc_info=True)
            count = await self._one_by_one()
        async with self.engine.begin() as conn:
            count += await self.router.followups.expire(conn, datetime.now(UTC))
        if count and self.outbox_wake is not None:
            self.outbox_wake.set()
        return count

    async def _batch(self, limit: int, only: int | None = None) -> int:
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            claimed = await received.claim_received(conn, limit, only=only)
            if not claimed:
                return 0
            open_now = await requests.open_requests(conn, now - self.duplicate_window)
            # Normalizing happens before the batch's inserts, so SQLite's write lock is not
            # held while a geocoder answers (answers and commands write as they go).
            outcomes = [await self.router.route(conn, c, open_now, now) for c in claimed]
            await self.router.file(conn, [o for o in outcomes if isinstance(o, NewReport)], now)
            settled = [_settled(c.id, o) for c, o in zip(claimed, outcomes, strict=True)]
            await received.settle(conn, settled, now)
        return len(claimed)

    async def _one_by_one(self) -> int:
        async with self.engine.connect() as conn:
            ids = await received.received_ids(conn, self.batch_size)
        for inbound_id in ids:
            try:
                # This message only: another worker may have taken it meanwhile, and a failure
                # must be pinned on the message that failed, never on the next one.
                await self._batch(limit=1, only=inbound_id)
            except Exception as exc:
                log.exception("intake.message_failed", extra={"inbound_id": inbound_id})
                await self._mark_failed(inbound_id, repr(exc))
        return len(ids)

    async def _mark_failed(self, inbound_id: int, error: str) -> None:
        async with self.engine.begin() as conn:
            await received.settle(conn, [_settled(inbound_id, error)], datetime.now(UTC))


def _settled(inbound_id: int, outcome: Outcome) -> Settlement:
    """The settlement of one inbound message: a failure's reason, or what it made."""
    if isinstance(outcome, str):
        return Settlement(inbound_id, inbound.FAILED, error=outcome)
    if isinstance(outcome, Handled):
        return Settlement(inbound_id, outcome.state, outcome.request_id)
    return Settlement(inbound_id, inbound.PROCESSED, outcome.request.id)
