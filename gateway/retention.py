"""Retention: residents' contact details and raw payloads are kept only as long as configured
(``[retention]``). What goes and what stays is said in ``gateway.store.retention`` (closed
requests) and ``gateway.store.leftovers`` (what belongs to no request, raw payloads).

The worker purges once a day, beside the hourly housekeeping sweep; ``python -m gateway purge``
does the same at once, and ``--dry-run`` counts without changing anything. Each batch is its own
short transaction (SQLite's write lock is held for one batch, not the whole purge), every step is
idempotent, and several workers may purge at once on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import RetentionSettings
from gateway.store import leftovers, retention

log = logging.getLogger(__name__)

PURGE_SECONDS = 86_400.0
BATCH = 100


@dataclass(slots=True)
class Purge:
    """What a purge changed (or, dry, would change)."""

    # Tracking numbers of the closed requests whose contacts went.
    requests: list[str] = field(default_factory=list)
    # Rows changed per table, for those requests.
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(retention.TABLES, 0))
    # Stored messages and notifications of no request that lost their contacts.
    spent_messages: int = 0
    spent_notifications: int = 0
    # Stored messages whose raw body and headers went.
    raw_payloads: int = 0

    def counts(self) -> dict[str, int]:
        """Everything as counts: safe to log (no contact, no tracking number)."""
        return {
            "requests": len(self.requests),
            **{f"rows_{table}": n for table, n in self.rows.items()},
            "spent_messages": self.spent_messages,
            "spent_notifications": self.spent_notifications,
            "raw_payloads": self.raw_payloads,
        }


async def purge(
    engine: AsyncEngine,
    policy: RetentionSettings,
    now: datetime,
    *,
    dry_run: bool = False,
    batch: int = BATCH,
) -> Purge:
    """Purge what ``policy`` says has been kept long enough at ``now``; with ``dry_run`` only
    count it."""
    done = Purge()
    # Raw payloads first: what a dry run counts for them is then what a real run drops.
    if policy.raw_days:
        await _raw(engine, now - timedelta(days=policy.raw_days), done, dry_run, batch)
    if policy.contact_days:
        before = now - timedelta(days=policy.contact_days)
        await _closed_requests(engine, before, now, done, dry_run, batch)
        await _spent(engine, before, done, dry_run, batch)
    return done


async def _closed_requests(
    engine: AsyncEngine, before: datetime, now: datetime, done: Purge, dry: bool, batch: int
) -> None:
    after = ""
    while True:
        async with engine.connect() if dry else engine.begin() as conn:
            found = await retention.closed_before(conn, before, after=after, limit=batch)
            if not found:
                return
            after = found[-1][0]
            if not dry:
                await retention.lock_requests(conn, [i for i, _ in found])
                # Read again under the lock: one may have reopened or got a job in flight.
                found = await retention.closed_before(
                    conn, before, among=[i for i, _ in found], limit=batch
                )
            for request_id, number in found:
                counts = await retention.purge_request(conn, request_id, now, apply=not dry)
                done.requests.append(number)
                for table, n in counts.items():
                    done.rows[table] += n


async def _spent(engine: AsyncEngine, before: datetime, done: Purge, dry: bool, batch: int) -> None:
    for step in (leftovers.spent_messages, leftovers.spent_notifications):
        after = 0
        while True:
            async with engine.begin() as conn:
                ids = await step(conn, before, after=after, limit=batch, apply=not dry)
            if not ids:
                break
            after = max(ids)
            if step is leftovers.spent_messages:
                done.spent_messages += len(ids)
            else:
                done.spent_notifications += len(ids)


async def _raw(engine: AsyncEngine, before: datetime, done: Purge, dry: bool, batch: int) -> None:
    if dry:
        async with engine.connect() as conn:
            done.raw_payloads = await leftovers.count_raw(conn, before)
        return
    while True:
        async with engine.begin() as conn:
            dropped = await leftovers.drop_raw(conn, before, limit=batch)
        done.raw_payloads += dropped
        if dropped < batch:
            return


async def purge_daily(
    engine: AsyncEngine,
    policy: RetentionSettings,
    every_seconds: float = PURGE_SECONDS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Purge now and then every ``every_seconds``; a failed purge is logged and tried again at
    the next turn. Logs counts only, never a contact or a tracking number."""
    if not (policy.contact_days or policy.raw_days):
        return
    while True:
        try:
            done = await purge(engine, policy, clock())
            log.info("retention.purged", extra=done.counts())
        except Exception:
            log.exception("retention.failed")
        await asyncio.sleep(every_seconds)
