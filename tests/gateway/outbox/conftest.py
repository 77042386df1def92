"""Outbox fixtures: an engine on each test database and service requests waiting to be
delivered; the fake CRM (``crm``) and ``database_url`` come from the parent conftest."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import BreakerSettings, OutboxSettings, RetrySettings
from gateway.outbox import jobs
from gateway.records import Location, Reporter, ServiceRequest, Status
from gateway.store import requests
from gateway.store.database import make_engine
from gateway.tracking import tracking_number_for


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


def fast_settings(**retry: Any) -> OutboxSettings:
    """Outbox settings with tiny waits, so retries happen within a test; ``retry`` changes other
    ``RetrySettings`` fields."""
    waits = RetrySettings(base_seconds=0.001, max_backoff_seconds=0.005)
    return OutboxSettings(
        poll_interval_seconds=0.01,
        lease_seconds=30,
        delivery_timeout_seconds=5,
        retry=dataclasses.replace(waits, **retry),
        breaker=BreakerSettings(failure_threshold=5, reset_seconds=0.01),
    )


def sample_request(serial: int, language: str = "en") -> ServiceRequest:
    now = datetime.now(UTC)
    return ServiceRequest(
        id=uuid.uuid4().hex,
        tracking_number=tracking_number_for(serial),
        channel="twilio_sms",
        channel_message_id=f"SM{serial:032x}",
        received_at=now,
        updated_at=now,
        reporter=Reporter(phone="+14015550142", address="+14015550142", language=language),
        description=f"pothole number {serial} on Spring St",
        original_text=f"pothole number {serial} on Spring St",
        service_code="pothole",
        service_name="Pothole",
        location=Location(lat=41.483207, long=-71.312674, address="280 Spring St", source="text"),
        status=Status.ACCEPTED,
    )


async def seed(
    engine: AsyncEngine, count: int, connector: str = "open311", language: str = "en"
) -> list[str]:
    """``count`` accepted requests, each with a delivery job for ``connector``."""
    ids = []
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for serial in range(1, count + 1):
            request = sample_request(serial, language)
            await requests.insert_request(conn, request)
            await jobs.enqueue(conn, [jobs.delivery(request.id, connector)], now=now)
            ids.append(request.id)
    return ids
