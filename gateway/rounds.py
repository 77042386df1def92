"""The loop every background role runs: work in rounds, rest only when a round found nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def repeat_rounds(
    round_: Callable[[], Awaitable[int]],
    wake: asyncio.Event,
    poll_seconds: float,
    name: str,
    stopping: asyncio.Event | None = None,
) -> None:
    """Run ``round_`` again at once while it finds work; else wait to be woken or to poll.

    Returns once ``stopping`` is set, after the round in progress (never in the middle of one).
    """
    stopping = stopping or asyncio.Event()
    while not stopping.is_set():
        try:
            busy = await round_()
        except Exception:
            # A database hiccup must not end the loop: the work waits in the database.
            log.exception("rounds.failed", extra={"loop": name})
            busy = 0
        if busy:
            continue
        await first_set(wake, stopping, within=poll_seconds)
        wake.clear()


async def first_set(*events: asyncio.Event, within: float) -> bool:
    """Wait until one of ``events`` is set, or ``within`` seconds have passed; True when one
    was set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)
