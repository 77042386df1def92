"""After the ack: route stored messages, make service requests, queue their deliveries.

Each round takes a batch of received messages (PostgreSQL: locked with ``SKIP LOCKED`` so several
workers share the work) and, in one transaction, acts on each (``gateway.intake``), files the new
requests with their first events, outbox jobs and questions, and marks the messages processed. A
killed process leaves its messages ``received``; the next round takes them again, and nothing is
half-done. Each round also files the reports whose question went unanswered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.intake import Handled, Intake, NewReport, Normalize, Outcome
from gateway.rounds import repeat_rounds
from gateway.store import requests
from gateway.store.inbound import RECEIVED
from gateway.store.schema import inbound_messages

log = logging.getLogger(__name__)

__all__ = ["Normalize", "Pipeline"]

PROCESSED, FAILED = "processed", "failed"

# One statement settles a whole batch of inbound rows, each with its own outcome.
_SETTLE = (
    update(inbound_messages)
    .where(inbound_messages.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        request_id=bindparam("b_request"),
        error=bindparam("b_error"),
        processed_at=bindparam("b_now"),
    )
)


class Pipeline:
    """Turns received messages into service requests, answers and outbox jobs."""

    def __init__(
        self,
        engine: AsyncEngine,
        intake: Intake,
        *,
        duplicate_window: timedelta = timedelta(days=30),
        batch_size: int = 50,
        outbox_wake: asyncio.Event | None = None,
    ) -> None:
        self.engine = engine
        self.intake = intake
        self.duplicate_window = duplicate_window
        self.batch_size = batch_size
        self.outbox_wake = outbox_wake

    async def run_forever(self, wake: asyncio.Event, poll_seconds: float) -> None:
        """Process, then sleep until woken by an ingest or the poll interval passes."""
        await repeat_rounds(self.run_once, wake, poll_seconds, "pipeline")

    async def run_once(self) -> int:
        """Process one batch and expire old questions; returns how many things it settled."""
        try:
            count = await self._batch(limit=self.batch_size)
        except Exception:
            # A write failed for the whole batch: go one by one so one bad message is isolated.
            log.warning("pipeline.batch_failed", exc_info=True)
            count = await self._one_by_one()
        async with self.engine.begin() as conn:
            count += await self.intake.followups.expire(conn, datetime.now(UTC))
        if count and self.outbox_wake is not None:
            self.outbox_wake.set()
        return count

    async def _batch(self, limit: int, after_id: int = 0) -> int:
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            rows = await _claim(conn, limit, after_id)
            if not rows:
                return 0
            open_now = await requests.open_requests(conn, now - self.duplicate_window)
            # Normalizing happens before the batch's inserts, so SQLite's write lock is not
            # held while a geocoder answers (answers and commands write as they go).
            outcomes = [await self.intake.route(conn, row, open_now, now) for row in rows]
            await self.intake.file(conn, [o for o in outcomes if isinstance(o, NewReport)], now)
            await conn.execute(
                _SETTLE, [_settled(row.id, o, now) for row, o in zip(rows, outcomes, strict=True)]
            )
        return len(rows)

    async def _one_by_one(self) -> int:
        async with self.engine.connect() as conn:
            ids = [r.id for r in await conn.execute(_pending_ids(self.batch_size))]
        for inbound_id in ids:
            try:
                await self._batch(limit=1, after_id=inbound_id - 1)
            except Exception as exc:
                log.exception("pipeline.message_failed", extra={"inbound_id": inbound_id})
                await self._mark_failed(inbound_id, repr(exc))
        return len(ids)

    async def _mark_failed(self, inbound_id: int, error: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(_SETTLE, [_settled(inbound_id, error, datetime.now(UTC))])


def _settled(inbound_id: int, outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The settlement row for one inbound message: a failure's reason, or what it made."""
    if isinstance(outcome, str):
        state, request_id, error = FAILED, None, outcome
    elif isinstance(outcome, Handled):
        state, request_id, error = outcome.state, outcome.request_id, None
    else:
        state, request_id, error = PROCESSED, outcome.request.id, None
    return {
        "b_id": inbound_id,
        "b_state": state,
        "b_request": request_id,
        "b_error": error,
        "b_now": now,
    }


def _pending_ids(limit: int) -> Any:
    c = inbound_messages.c
    return select(c.id).where(c.state == RECEIVED).order_by(c.id).limit(limit)


async def _claim(conn: AsyncConnection, limit: int, after_id: int) -> Sequence[Any]:
    c = inbound_messages.c
    query = (
        select(c.id, c.message, c.raw_body, c.received_at)
        .where(c.state == RECEIVED, c.id > after_id)
        .order_by(c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await conn.execute(query))
