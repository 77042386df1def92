"""A circuit breaker per connector: a dead case system is left alone, then probed once.

Closed: deliveries flow. After ``failure_threshold`` consecutive failures it opens and nothing is
sent for ``reset_seconds``; then it is half-open and lets one probe through. The probe's success
closes it, its failure opens it again. Jobs wait in the outbox meanwhile, losing no attempts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.config.settings import BreakerSettings


class CircuitBreaker:
    """Consecutive-failure breaker with a single half-open probe."""

    def __init__(
        self, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.settings.reset_seconds:
            return "half_open"
        return "open"

    def capacity(self, batch: int) -> int:
        """How many deliveries may start now: all, one probe, or none."""
        state = self.state
        if state == "closed":
            return batch
        if state == "half_open" and not self.probing:
            return 1
        return 0

    def allow(self) -> bool:
        """Take permission for one delivery (a half-open breaker grants only the probe)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.probing = False

    def neutral(self) -> None:
        """A delivery that says nothing of the target's health (the job's own fault, such as a
        refused URL or text no encoder takes): a probe's permission is handed back, no more."""
        self.probing = False

    def failed(self) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.settings.failure_threshold:
            self.opened_at = self.clock()
        self.probing = False
