"""The loop every background role runs: work in rounds, rest only when a round found nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def repeat_rounds(
    round_: Callable[[], Awaitable[int]], wake: asyncio.Event, poll_seconds: float, name: str
) -> None:
    """Run ``round_`` again at once while it finds work; else wait to be woken or to poll."""
    while True:
        try:
            busy = await round_()
        except Exception:
            # A database hiccup must not end the loop: the work waits in the database.
            log.exception("rounds.failed", extra={"loop": name})
            busy = 0
        if busy:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll_seconds)
        wake.clear()
