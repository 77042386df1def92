"""Connector tests: the parent conftest's FakeCrm on loopback, expecting this folder's API key,
webhook secret and jurisdiction, and connectors built from config-shaped options."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from gateway.connectors.open311 import Open311Connector
from gateway.connectors.webhook import WebhookConnector
from gateway.records import Flags, Location, Media, Reporter, ServiceRequest, Status
from tests.fakes.crm import FakeCrm

API_KEY = "test-open311-key-not-real"
WEBHOOK_SECRET = "test-webhook-secret-not-real"
JURISDICTION = "newportri.example.org"


@pytest.fixture
def crm(crm: FakeCrm) -> FakeCrm:
    """The parent's fake CRM, asking for the credentials the connectors here are given."""
    crm.api_key = API_KEY
    crm.webhook_secret = WEBHOOK_SECRET
    crm.jurisdiction_id = JURISDICTION
    return crm


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_OPEN311_API_KEY", API_KEY)
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)


def open311_options(crm: FakeCrm, **extra: object) -> dict[str, object]:
    """The ``[connectors.open311]`` table pointing at the fake."""
    return {
        "endpoint": crm.open311_endpoint,
        "api_key_env": "TEST_OPEN311_API_KEY",
        "jurisdiction_id": JURISDICTION,
        "timeout_seconds": 2,
        **extra,
    }


def webhook_options(crm: FakeCrm, **extra: object) -> dict[str, object]:
    """The ``[connectors.webhook]`` table pointing at the fake."""
    return {
        "url": crm.webhook_url,
        "secret_env": "TEST_WEBHOOK_SECRET",
        "timeout_seconds": 2,
        **extra,
    }


@pytest.fixture
async def open311(crm: FakeCrm, secrets_env: None) -> AsyncIterator[Open311Connector]:
    connector = Open311Connector(open311_options(crm))
    yield connector
    await connector.close()


@pytest.fixture
async def webhook(crm: FakeCrm, secrets_env: None) -> AsyncIterator[WebhookConnector]:
    connector = WebhookConnector(webhook_options(crm))
    yield connector
    await connector.close()


POTHOLE_ATTRIBUTES = {
    "SIZE": "large",
    "LOCATION_IN_ROAD": "crosswalk",
    "NEAR": ["manhole", "utility_patch"],
    "DEPTH_IN": 5,
}
POTHOLE_LOCATION = Location(
    lat=41.483207,
    long=-71.312674,
    address="280 Spring St, Newport, RI 02840",
    zipcode="02840",
    source="text",
    confidence=0.9,
)
POTHOLE_PHOTO = Media(
    content_type="image/jpeg",
    url="https://gateway.newport311.example.org/media/K7M2QX/1.jpg",
    size=183211,
    sha256="9f" * 32,
)


@pytest.fixture
def pothole() -> ServiceRequest:
    """The Spring St pothole of the shared fixtures (tracking number K7M2QX), fully filled in."""
    return ServiceRequest(
        id="01J9ZK7M2QX0000000000000",
        tracking_number="K7M2QX",
        channel="twilio_sms",
        channel_message_id="SM0123456789abcdef0123456789abcdef",
        received_at=datetime(2025, 10, 14, 13, 2, 41, 120000, tzinfo=UTC),
        reporter=Reporter(
            name="Sam Rivera",
            phone="+14015550123",
            email="sam.rivera@example.com",
            address="+14015550123",
        ),
        description=(
            "Theres a big pothole in the southeast corner of Spring St at Brewer St, right by "
            "280 Spring. Almost blew my tire this morning. Can someone come fill it?"
        ),
        original_text="Theres a big pothole in the southeast corner of Spring St at Brewer St!!",
        service_code="pothole",
        service_name="Pothole",
        service_confidence=0.93,
        attributes=POTHOLE_ATTRIBUTES,
        location=POTHOLE_LOCATION,
        media=(POTHOLE_PHOTO,),
        flags=Flags(needs_follow_up=("photo",)),
        status=Status.ACCEPTED,
    )
