"""Replay of ``../shared/fixtures/open311/``: documented GeoReport v2 shapes, served verbatim."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import parse_qsl

import pytest

from gateway.connectors.open311 import Open311Connector
from gateway.errors import PermanentDeliveryError
from gateway.records import ServiceRequest
from tests.conftest import SHARED_FIXTURES
from tests.fakes.crm import FakeCrm
from tests.fakes.georeport import form_fields
from tests.gateway.connectors.conftest import API_KEY

FIXTURES = SHARED_FIXTURES / "open311"
Check = Callable[[FakeCrm, Open311Connector, ServiceRequest, str, bytes], Awaitable[None]]
# The service list and definition feed the catalog, not the connector.
CATALOG_ONLY = {"services.json", "service_definition_pothole.json", "README.md"}


async def check_post_form(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest, name: str, body: bytes
) -> None:
    """What the connector sends carries the fixture's field names and, but for ids, its values."""
    expected = form_fields(parse_qsl(body.decode(), keep_blank_values=True))
    # The key is the test's own; device and account ids are pseudonyms the gateway derives.
    own = {"api_key", "device_id", "account_id"}
    ref = await open311.submit(pothole, "key-form")
    sent = dict(crm.cases[str(ref.case_id)])
    assert sent.pop("idempotency_key") == "key-form"
    assert sent.keys() == expected.keys()
    assert sent["api_key"] == API_KEY
    assert {k: v for k, v in sent.items() if k not in own} == {
        k: v for k, v in expected.items() if k not in own
    }


async def check_post_response(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest, name: str, body: bytes
) -> None:
    crm.serve_next(body)
    ref = await open311.submit(pothole, "key")
    assert ref.case_id == "NPT-2025-041873"
    assert ref.token is None


async def check_post_response_token(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest, name: str, body: bytes
) -> None:
    crm.serve_next(body)
    ref = await open311.submit(pothole, "key")
    assert ref.case_id is None
    assert ref.token == "b64f0e1a-7c2d-4a9e-9d3b-5e8f2c1a0b7d"


async def check_token_lookup(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest, name: str, body: bytes
) -> None:
    crm.serve_next(body, method="GET")
    case_id = await open311.resolve_token("b64f0e1a-7c2d-4a9e-9d3b-5e8f2c1a0b7d")
    assert case_id == "NPT-2025-041902"


async def check_service_requests(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest, name: str, body: bytes
) -> None:
    listed = json.loads(body)
    crm.serve_next(body, method="GET")
    everything = await open311.fetch_updates(datetime.fromisoformat("2025-10-01T00:00:00Z"))
    assert {(u.case_id, u.status, u.note) for u in everything} == {
        (r["service_request_id"], r["status"], r["status_notes"]) for r in listed
    }
    crm.serve_next(body, method="GET")
    since = datetime.fromisoformat("2025-10-14T11:00:00-04:00")
    later = await open311.fetch_updates(since)
    assert [u.case_id for u in later] == ["NPT-2025-041655", "NPT-2025-041802"]
    assert all(u.updated_at is not None and u.updated_at > since for u in later)


async def check_error(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest, name: str, body: bytes
) -> None:
    status = int(name.removesuffix(".json").split("_")[1])
    crm.serve_next(body, status)
    with pytest.raises(PermanentDeliveryError) as caught:
        await open311.submit(pothole, "key")
    assert caught.value.status == status
    for error in json.loads(body):
        assert f"{error['description']} (code {error['code']})" in caught.value.reason


CHECKS: dict[str, Check] = {
    "post_service_request.form": check_post_form,
    "post_service_request_response.json": check_post_response,
    "post_service_request_response_token.json": check_post_response_token,
    "get_token_response.json": check_token_lookup,
    "get_service_requests.json": check_service_requests,
    "error_400.json": check_error,
    "error_403.json": check_error,
    "error_404.json": check_error,
}
REPLAYED = [p for p in sorted(FIXTURES.iterdir()) if p.name not in CATALOG_ONLY]
CASES = [pytest.param(p.name, p.read_bytes(), id=p.stem) for p in REPLAYED]


def test_every_open311_fixture_has_a_check() -> None:
    assert CASES, f"no fixtures in {FIXTURES}"
    assert sorted(p.name for p in REPLAYED) == sorted(CHECKS)


@pytest.mark.parametrize(("name", "body"), CASES)
async def test_replay(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest, name: str, body: bytes
) -> None:
    await CHECKS[name](crm, open311, pothole, name, body)
