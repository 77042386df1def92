"""Retry policy and circuit breaker, with a fixed random source and a hand-turned clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gateway.config.settings import BreakerSettings, RetrySettings
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.outbox.breaker import CircuitBreaker
from gateway.outbox.policy import Dead, Retry, backoff_seconds, decide

RETRY = RetrySettings(base_seconds=2, max_backoff_seconds=3600, horizon_hours=72)
NOW = datetime(2025, 10, 14, 12, 0, tzinfo=UTC)


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    rng = random.Random(7)
    for attempt in range(1, 20):
        ceiling = min(3600, 2 * 2 ** (attempt - 1))
        waits = [backoff_seconds(attempt, RETRY, rng) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        # Spread over the whole range, not bunched at the ceiling.
        assert min(waits) < ceiling * 0.1 and max(waits) > ceiling * 0.9


def test_retry_after_is_a_floor() -> None:
    error = TransientDeliveryError("slow down", status=429, retry_after=300)
    outcome = decide(error, attempts=1, retry_from=NOW, now=NOW, retry=RETRY, rng=random.Random())
    assert isinstance(outcome, Retry)
    assert outcome.at >= NOW + timedelta(seconds=300)


def test_permanent_error_is_dead_at_once() -> None:
    error = PermanentDeliveryError("unknown service_code", status=400)
    outcome = decide(error, attempts=1, retry_from=NOW, now=NOW, retry=RETRY, rng=random.Random())
    assert outcome == Dead("permanent failure: 400: unknown service_code")


def test_transient_errors_retry_until_the_72_hour_horizon() -> None:
    error = TransientDeliveryError("CRM down", status=503)
    rng = random.Random(1)
    inside = decide(
        error, attempts=30, retry_from=NOW, now=NOW + timedelta(hours=70), retry=RETRY, rng=rng
    )
    past = decide(
        error, attempts=31, retry_from=NOW, now=NOW + timedelta(hours=72), retry=RETRY, rng=rng
    )
    assert isinstance(past, Dead) and "72 h" in past.reason
    assert isinstance(inside, Retry | Dead)
    if isinstance(inside, Retry):
        assert inside.at <= NOW + timedelta(hours=72)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_then_lets_one_probe_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=3, reset_seconds=60), clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state == "closed"
    assert breaker.allow()
    breaker.failed()
    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.capacity(20) == 0
    clock.now += 60
    assert breaker.state == "half_open"
    assert breaker.capacity(20) == 1
    assert breaker.allow()
    assert not breaker.allow()  # only one probe at a time
    breaker.failed()
    assert breaker.state == "open"  # a failed probe opens it again at once
    clock.now += 60
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == "closed"
    assert breaker.capacity(20) == 20


def test_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=2, reset_seconds=60), Clock())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state == "closed"
