"""How both HTTP connectors map what a failing CRM answers to transient or permanent errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from gateway.connectors import Connector
from gateway.connectors._http import parse_retry_after
from gateway.connectors.open311 import Open311Connector
from gateway.connectors.webhook import WebhookConnector
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.records import ServiceRequest
from tests.fakes.crm import FakeCrm
from tests.gateway.connectors.conftest import open311_options, webhook_options


@pytest.fixture(params=["open311", "webhook"])
async def connector(
    request: pytest.FixtureRequest, crm: FakeCrm, secrets_env: None
) -> AsyncIterator[Connector]:
    made: Connector
    if request.param == "open311":
        made = Open311Connector(open311_options(crm, timeout_seconds=0.3))
    else:
        made = WebhookConnector(webhook_options(crm, timeout_seconds=0.3))
    yield made
    await made.close()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_permanent(
    crm: FakeCrm, connector: Connector, pothole: ServiceRequest, status: int
) -> None:
    crm.fail_next(1, status, errors=[{"code": status, "description": "nope, says the CRM"}])
    with pytest.raises(PermanentDeliveryError) as caught:
        await connector.submit(pothole, "key")
    assert caught.value.status == status
    assert "nope, says the CRM" in caught.value.reason
    assert crm.cases == {}


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_errors_are_transient(
    crm: FakeCrm, connector: Connector, pothole: ServiceRequest, status: int
) -> None:
    crm.fail_next(1, status)
    with pytest.raises(TransientDeliveryError) as caught:
        await connector.submit(pothole, "key")
    assert caught.value.status == status
    assert caught.value.retry_after is None
    ref = await connector.submit(pothole, "key")
    assert list(crm.cases) == [ref.case_id]


async def test_429_with_retry_after_seconds_is_transient_with_the_delay(
    crm: FakeCrm, connector: Connector, pothole: ServiceRequest
) -> None:
    crm.fail_next(1, 429, retry_after="7")
    with pytest.raises(TransientDeliveryError) as caught:
        await connector.submit(pothole, "key")
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0


async def test_503_with_retry_after_http_date_is_transient_with_the_delay(
    crm: FakeCrm, connector: Connector, pothole: ServiceRequest
) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    crm.fail_next(1, 503, retry_after=format_datetime(when, usegmt=True))
    with pytest.raises(TransientDeliveryError) as caught:
        await connector.submit(pothole, "key")
    assert caught.value.status == 503
    assert caught.value.retry_after is not None
    assert 110 <= caught.value.retry_after <= 120


async def test_timeout_is_transient(
    crm: FakeCrm, connector: Connector, pothole: ServiceRequest
) -> None:
    crm.hang_next(1, 3)
    with pytest.raises(TransientDeliveryError, match=r"no answer within 0\.3s"):
        await connector.submit(pothole, "key")


async def test_garbage_on_a_2xx_is_transient(
    crm: FakeCrm, connector: Connector, pothole: ServiceRequest
) -> None:
    crm.serve_next(b"<html>502 Bad Gateway</html>", 200, content_type="text/html")
    with pytest.raises(TransientDeliveryError, match="not JSON"):
        await connector.submit(pothole, "key")


async def test_refused_connection_is_transient(secrets_env: None, pothole: ServiceRequest) -> None:
    gone = FakeCrm()
    await gone.start()
    await gone.close()
    connector = Open311Connector(open311_options(gone))
    try:
        with pytest.raises(TransientDeliveryError, match="connection failed"):
            await connector.submit(pothole, "key")
    finally:
        await connector.close()


def test_retry_after_parsing() -> None:
    now = datetime(2025, 10, 14, 13, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("Tue, 14 Oct 2025 13:01:30 GMT", now) == 90.0
    assert parse_retry_after("Tue, 14 Oct 2025 12:00:00 GMT", now) == 0.0
    for bad in (None, "", "-5", "soon", "nan"):
        assert parse_retry_after(bad, now) is None
