"""After the ack: normalize stored messages, make service requests, enqueue their deliveries.

Each round takes a batch of received messages (PostgreSQL: locked with ``SKIP LOCKED`` so several
workers share the work), normalizes them, and in one transaction creates the requests, their first
events and one outbox job per connector, and marks the messages processed. A killed process leaves
its messages ``received``; the next round takes them again, and nothing is half-done.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway import metrics
from gateway.outbox import jobs
from gateway.records import (
    InboundMessage,
    NormalizedReport,
    OpenRequest,
    Service,
    ServiceRequest,
    Status,
)
from gateway.rounds import repeat_rounds
from gateway.store import requests
from gateway.store.codec import message_from_json
from gateway.store.inbound import RECEIVED
from gateway.store.schema import inbound_messages
from gateway.tracking import tracking_number_for

log = logging.getLogger(__name__)

Normalize = Callable[[InboundMessage, Sequence[OpenRequest], datetime], Awaitable[NormalizedReport]]

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
    """Turns received messages into service requests and outbox jobs."""

    def __init__(
        self,
        engine: AsyncEngine,
        normalize: Normalize,
        catalog: Mapping[str, Service],
        connectors: Sequence[str],
        *,
        duplicate_window: timedelta = timedelta(days=30),
        batch_size: int = 50,
        outbox_wake: asyncio.Event | None = None,
    ) -> None:
        self.engine = engine
        self.normalize = normalize
        self.catalog = catalog
        self.connectors = connectors
        self.duplicate_window = duplicate_window
        self.batch_size = batch_size
        self.outbox_wake = outbox_wake

    async def run_forever(self, wake: asyncio.Event, poll_seconds: float) -> None:
        """Process, then sleep until woken by an ingest or the poll interval passes."""
        await repeat_rounds(self.run_once, wake, poll_seconds, "pipeline")

    async def run_once(self) -> int:
        """Process one batch; returns how many messages it settled."""
        try:
            count = await self._batch(limit=self.batch_size)
        except Exception:
            # A write failed for the whole batch: go one by one so one bad message is isolated.
            log.warning("pipeline.batch_failed", exc_info=True)
            count = await self._one_by_one()
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
            # Understand every message before the first write, so that SQLite's write lock is
            # held only for the inserts, never while a geocoder answers.
            understood = [await self._understand(row, open_now, now) for row in rows]
            await self._file(conn, rows, understood, now)
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

    async def _understand(
        self, row: Any, open_now: list[OpenRequest], now: datetime
    ) -> ServiceRequest | str:
        """The request a stored message makes, or why it could not be understood."""
        message = message_from_json(row.message, row.raw_body)
        try:
            report = await self.normalize(message, open_now, now)
        except Exception as exc:
            # A normalizer bug must not stall the queue: the message is flagged for staff.
            log.exception("pipeline.normalize_failed", extra={"inbound_id": row.id})
            metrics.PIPELINE.labels("failed").inc()
            return f"normalizer: {exc!r}"
        request = self._request(row, message, report, now)
        place = request.location
        if place is not None and place.lat is not None and place.long is not None:
            # Later messages in the same batch may duplicate this one.
            open_now.append(
                OpenRequest(
                    request.tracking_number, request.service_code, place.lat, place.long, now
                )
            )
        return request

    async def _file(
        self,
        conn: AsyncConnection,
        rows: Sequence[Any],
        understood: Sequence[ServiceRequest | str],
        now: datetime,
    ) -> None:
        """Write a batch's requests, first events, jobs and inbound states: a statement each."""
        filed = [
            (row, r)
            for row, r in zip(rows, understood, strict=True)
            if isinstance(r, ServiceRequest)
        ]
        await requests.insert_requests(conn, [request for _, request in filed])
        await requests.add_events(
            conn,
            [
                requests.event_row(
                    request.id,
                    "received",
                    status=request.status.value,
                    detail={
                        "channel": request.channel,
                        "inbound_id": row.id,
                        "flags": _flag_names(request),
                    },
                )
                for row, request in filed
            ],
        )
        deliveries = [jobs.delivery(request.id, c) for _, request in filed for c in self.connectors]
        await jobs.enqueue(conn, deliveries, now=now)
        settled = [
            {
                "b_id": row.id,
                "b_state": PROCESSED if isinstance(r, ServiceRequest) else FAILED,
                "b_request": r.id if isinstance(r, ServiceRequest) else None,
                "b_error": None if isinstance(r, ServiceRequest) else r,
                "b_now": now,
            }
            for row, r in zip(rows, understood, strict=True)
        ]
        await conn.execute(_SETTLE, settled)
        metrics.PIPELINE.labels("processed").inc(len(filed))

    def _request(
        self, row: Any, message: InboundMessage, report: NormalizedReport, now: datetime
    ) -> ServiceRequest:
        code = report.classification.service_code
        service = self.catalog.get(code) if code else None
        return ServiceRequest(
            id=uuid.uuid4().hex,
            tracking_number=tracking_number_for(row.id),
            channel=message.channel,
            channel_message_id=message.provider_id,
            received_at=row.received_at,
            updated_at=now,
            reporter=report.reporter,
            description=report.description,
            original_text=report.original_text,
            service_code=code,
            service_name=service.name(report.reporter.language) if service else None,
            service_confidence=report.classification.confidence,
            location=report.location,
            media=report.media or message.media,
            flags=report.flags,
            status=Status.ACCEPTED,
        )

    async def _mark_failed(self, inbound_id: int, error: str) -> None:
        async with self.engine.begin() as conn:
            await _settle_inbound(conn, inbound_id, FAILED, error=error)


def _pending_ids(limit: int) -> Any:
    c = inbound_messages.c
    return select(c.id).where(c.state == RECEIVED).order_by(c.id).limit(limit)


async def _claim(conn: AsyncConnection, limit: int, after_id: int) -> list[Any]:
    c = inbound_messages.c
    query = (
        select(c.id, c.message, c.raw_body, c.received_at)
        .where(c.state == RECEIVED, c.id > after_id)
        .order_by(c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await conn.execute(query))


async def _settle_inbound(
    conn: AsyncConnection,
    inbound_id: int,
    state: str,
    *,
    request_id: str | None = None,
    error: str | None = None,
) -> None:
    await conn.execute(
        update(inbound_messages)
        .where(inbound_messages.c.id == inbound_id)
        .values(state=state, request_id=request_id, error=error, processed_at=datetime.now(UTC))
    )


def _flag_names(request: ServiceRequest) -> list[str]:
    flags = request.flags
    names = [f"needs_{item}" for item in flags.needs_follow_up]
    if flags.emergency:
        names.append("emergency")
    if flags.possible_duplicate_of:
        names.append(f"possible_duplicate_of:{flags.possible_duplicate_of}")
    return names
