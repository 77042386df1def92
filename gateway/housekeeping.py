"""Rows that only matter for a while are dropped once spent, so the tables stay small: rate-limit
windows, one-time history links and codes, and used webhook tokens. The worker role sweeps once
an hour; every sweep is idempotent and safe to run from several workers at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.access_codes import drop_expired_codes
from gateway.store.rate_limits import drop_windows_before
from gateway.store.tokens import forget_tokens

log = logging.getLogger(__name__)

SWEEP_SECONDS = 3600.0
# Kept a day past their end: enough to look into a complaint, not a record of anyone.
GRACE = timedelta(days=1)


async def sweep(engine: AsyncEngine, now: datetime, rate_window: timedelta) -> dict[str, int]:
    """Drop what has been spent for longer than GRACE; the count dropped per table."""
    async with engine.begin() as conn:
        windows = await drop_windows_before(conn, now - rate_window - GRACE)
        codes = await drop_expired_codes(conn, now - GRACE)
        # Webhook timestamps older than a day are refused anyway, so their tokens can go.
        tokens = await forget_tokens(conn, now - GRACE)
    return {
        "rate_limits": windows,
        "access_codes": codes,
        "inbound_tokens": tokens,
    }


async def sweep_forever(
    engine: AsyncEngine,
    rate_window: timedelta,
    every_seconds: float = SWEEP_SECONDS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Sweep now and then every ``every_seconds``; a failed sweep is logged and tried again."""
    while True:
        try:
            dropped = await sweep(engine, clock(), rate_window)
            if any(dropped.values()):
                log.info("housekeeping.swept", extra=dropped)
        except Exception:
            log.exception("housekeeping.failed")
        await asyncio.sleep(every_seconds)
