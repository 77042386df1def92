"""When to try a failed delivery again, and when to give up.

Exponential backoff with full jitter (a random wait between 0 and base * 2^attempt, capped), so
that many jobs failing together do not come back together. A server's ``Retry-After`` is a floor.
A job is dead on a permanent error, past ``max_attempts`` when one is set, or when the next try
would fall beyond the retry horizon (72 hours by default, like SMTP and SendGrid).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.config.settings import RetrySettings
from gateway.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Dead:
    reason: str


def unhealable(exc: BaseException) -> bool:
    """An error in the job's own content (text no encoder takes, a value no header can hold):
    every attempt fails the same way, so it is permanent, not retried."""
    return isinstance(exc, UnicodeError | ValueError)


def backoff_seconds(attempt: int, retry: RetrySettings, rng: random.Random) -> float:
    """Full-jitter backoff before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
    ceiling = min(retry.max_backoff_seconds, retry.base_seconds * 2 ** max(attempt - 1, 0))
    return rng.uniform(0, ceiling)


def decide(
    error: DeliveryError,
    *,
    attempts: int,
    retry_from: datetime,
    now: datetime,
    retry: RetrySettings,
    rng: random.Random,
) -> Retry | Dead:
    """What to do with a job whose ``attempts``-th delivery failed with ``error``."""
    reason = error.reason if error.status is None else f"{error.status}: {error.reason}"
    if isinstance(error, PermanentDeliveryError):
        return Dead(f"permanent failure: {reason}")
    if retry.max_attempts and attempts >= retry.max_attempts:
        return Dead(f"gave up after {attempts} attempts: {reason}")
    delay = backoff_seconds(attempts, retry, rng)
    if isinstance(error, TransientDeliveryError) and error.retry_after is not None:
        delay = max(delay, error.retry_after)
    at = now + timedelta(seconds=delay)
    if at > retry_from + timedelta(hours=retry.horizon_hours):
        return Dead(f"still failing after the {retry.horizon_hours:g} h retry horizon: {reason}")
    return Retry(at, reason)
