"""Durable intake: every verified message is committed before its provider is acknowledged.

Writes go through one ``InboundWriter`` per process that groups concurrent requests into a single
transaction (group commit): one durable commit serves many webhooks, and SQLite sees one writer.
The pair (channel, provider id) is unique, so a retried webhook finds its first row again. Each
receipt's tracking number is the row id in the database's tracking series, which the writer
checks against the config's when it starts (``gateway.store.series``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.records import InboundMessage
from gateway.store.codec import message_to_json
from gateway.store.schema import inbound_messages
from gateway.store.series import ensure_series, series_or_default
from gateway.tracking import tracking_number_for

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")
# Work of one kind for every job of the batch that brought it: each job's item in, each result out.
Bulk = Callable[[AsyncConnection, list[Any]], Awaitable[list[Any]]]

RECEIVED = "received"
UNPARSED = "unparsed"
PROCESSED = "processed"
FAILED = "failed"
REPARSED = "reparsed"
DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class Envelope:
    """How a request arrived: enough to verify and parse its raw bytes again later."""

    channel: str
    raw_body: bytes
    headers: dict[str, str]
    public_url: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """What was stored for one message: its row, its tracking number, and whether it is a retry."""

    inbound_id: int
    tracking_number: str
    duplicate: bool


@dataclass(slots=True)
class _Job:
    envelope: Envelope
    messages: Sequence[InboundMessage]
    error: str | None
    # Other work that must be durable before its caller answers (a phone call's next step).
    work: Bulk | None = None
    item: Any = None
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class InboundWriter:
    """Stores inbound messages, batching concurrent callers into one durable transaction."""

    def __init__(self, engine: AsyncEngine, max_batch: int = 200, *, series: int = 0) -> None:
        self.engine = engine
        self.max_batch = max_batch
        # The config's tracking series: the database must have been made for it.
        self.series = series
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Start writing; a second call while running does nothing (web and SMTP share one).

        Raises ``SeriesMismatch`` when the database was made for another tracking series.
        """
        # The web app and the X poller may both start it, at the same moment.
        async with self._starting:
            if self._task is None or self._task.done():
                self.series = await ensure_series(self.engine, self.series)
                self._task = asyncio.create_task(self._run(), name="inbound-writer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def store(self, envelope: Envelope, messages: Sequence[InboundMessage]) -> list[Receipt]:
        """Commit ``messages`` durably; returns one receipt per message, in order."""
        receipts: list[Receipt] = await self._submit(_Job(envelope, messages, None))
        return receipts

    async def store_unparsed(self, envelope: Envelope, error: str) -> Receipt:
        """Keep raw bytes that could not be parsed, flagged for staff; a retry is stored once."""
        receipts: list[Receipt] = await self._submit(_Job(envelope, (), error))
        return receipts[0]

    async def run(
        self, work: Callable[[AsyncConnection, list[Item]], Awaitable[list[Result]]], item: Item
    ) -> Result:
        """``work`` on ``item``, committed in the next batch (one writer: SQLite has one lock).

        The batch's jobs with the same ``work`` go to one call, items in order, so that it can do
        them in a statement or two; ``work`` must be safe to run twice (a failed batch's jobs run
        again alone)."""
        result: Result = await self._submit(_Job(Envelope("", b"", {}, ""), (), None, work, item))
        return result

    async def _submit(self, job: _Job) -> Any:
        if self._task is None or self._task.done():
            raise RuntimeError("InboundWriter is not running")
        await self._queue.put(job)
        return await job.done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[_Job]) -> None:
        try:
            results = await self._write_together(batch)
        except Exception:
            # One bad job must not fail its neighbours: write each alone to find it.
            log.warning("inbound.batch_failed", extra={"size": len(batch)}, exc_info=True)
            for job in batch:
                await self._write_alone(job)
            return
        for job, receipts in zip(batch, results, strict=True):
            if not job.done.done():
                job.done.set_result(receipts)

    async def _write_together(self, batch: list[_Job]) -> list[Any]:
        async with self.engine.begin() as conn:
            stores = [job for job in batch if job.work is None]
            stored = await _insert_batch(conn, stores, self.series) if stores else []
            results = dict(zip(map(id, stores), stored, strict=True))
            for work in dict.fromkeys(job.work for job in batch if job.work is not None):
                jobs = [job for job in batch if job.work == work]
                done = await work(conn, [job.item for job in jobs])
                results.update(zip(map(id, jobs), done, strict=True))
            return [results[id(job)] for job in batch]

    async def _write_alone(self, job: _Job) -> None:
        try:
            async with self.engine.begin() as conn:
                receipts = await _insert_job(conn, job, self.series)
        except Exception as exc:
            if not job.done.done():
                job.done.set_exception(exc)
            return
        if not job.done.done():
            job.done.set_result(receipts)


async def _insert_job(conn: AsyncConnection, job: _Job, series: int) -> Any:
    if job.work is not None:
        return (await job.work(conn, [job.item]))[0]
    if job.error is not None:
        return [await insert_unparsed(conn, job.envelope, job.error, series=series)]
    return await insert_messages(conn, job.envelope, job.messages, series=series)


async def _insert_batch(
    conn: AsyncConnection, batch: list[_Job], series: int
) -> list[list[Receipt]]:
    """The whole batch in one INSERT ... ON CONFLICT DO NOTHING RETURNING, not one per message.

    Each statement is several round trips to the database thread (SQLite) or server, each
    waiting for a turn of the busy event loop; one statement per batch keeps the writer ahead.
    """
    per_job = [_rows(job) for job in batch]
    rows = [row for job_rows in per_job for row in job_rows]
    key = inbound_messages.c
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(inbound_messages)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(key.id, key.channel, key.provider_id)
    )
    fresh = {(ch, pid): i for i, ch, pid in await conn.execute(statement, rows)}
    known: dict[tuple[str, str], int] = {}
    if missing := {(r["channel"], r["provider_id"]) for r in rows} - fresh.keys():
        query = select(key.id, key.channel, key.provider_id).where(
            tuple_(key.channel, key.provider_id).in_(sorted(missing))
        )
        known = {(ch, pid): i for i, ch, pid in await conn.execute(query)}
    # A retry inside the same batch is a duplicate of the first copy, as across batches.
    claimed: set[tuple[str, str]] = set()
    results = []
    for job_rows in per_job:
        receipts = []
        for row in job_rows:
            pair = (row["channel"], row["provider_id"])
            new = pair in fresh and pair not in claimed
            claimed.add(pair)
            inbound_id = fresh.get(pair) or known[pair]
            number = tracking_number_for(inbound_id, series)
            receipts.append(Receipt(inbound_id, number, not new))
        results.append(receipts)
    return results


def _rows(job: _Job) -> list[dict[str, Any]]:
    if job.error is not None:
        return [_unparsed_row(job.envelope, job.error)]
    return [_message_row(job.envelope, message) for message in job.messages]


def _unparsed_row(env: Envelope, error: str) -> dict[str, Any]:
    digest = hashlib.sha256(env.raw_body).hexdigest()
    return {
        **_base_row(env),
        "provider_id": f"unparsed:{digest}",
        "sender": "",
        "message": None,
        "state": UNPARSED,
        "error": error[:2000],
    }


def _message_row(env: Envelope, message: InboundMessage) -> dict[str, Any]:
    return {
        **_base_row(env),
        "channel": message.channel,
        "provider_id": message.provider_id,
        "sender": message.sender[:320],
        "message": message_to_json(message),
        "state": RECEIVED,
        "error": None,
    }


def _base_row(env: Envelope) -> dict[str, Any]:
    return {
        "channel": env.channel,
        "received_at": datetime.now(UTC),
        "raw_body": env.raw_body,
        "headers": env.headers,
        "public_url": env.public_url,
    }


async def insert_unparsed(
    conn: AsyncConnection, env: Envelope, error: str, *, series: int | None = None
) -> Receipt:
    """Keep raw bytes that could not be parsed; the same bad body retried is stored once.

    ``series`` numbers the receipt; by default the database's own.
    """
    if series is None:
        series = await series_or_default(conn)
    return await _insert_once(conn, _unparsed_row(env, error), series)


async def insert_messages(
    conn: AsyncConnection,
    env: Envelope,
    messages: Sequence[InboundMessage],
    *,
    series: int | None = None,
) -> list[Receipt]:
    """Insert parsed messages in the caller's transaction; a known (channel, id) is not re-added.

    ``series`` numbers the receipts; by default the database's own.
    """
    if series is None:
        series = await series_or_default(conn)
    return [await _insert_once(conn, _message_row(env, m), series) for m in messages]


async def _insert_once(conn: AsyncConnection, row: dict[str, Any], series: int) -> Receipt:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(inbound_messages)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(inbound_messages.c.id)
    )
    inserted = (await conn.execute(statement)).scalar_one_or_none()
    if inserted is not None:
        return Receipt(inserted, tracking_number_for(inserted, series), duplicate=False)
    existing = (
        await conn.execute(
            select(inbound_messages.c.id).where(
                inbound_messages.c.channel == row["channel"],
                inbound_messages.c.provider_id == row["provider_id"],
            )
        )
    ).scalar_one()
    return Receipt(existing, tracking_number_for(existing, series), duplicate=True)
