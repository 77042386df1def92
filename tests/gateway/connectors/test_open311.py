"""The Open311 connector against the fake GeoReport v2 CRM over real loopback HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.connectors import load_all
from gateway.connectors.open311 import Open311Connector
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.records import Location, Reporter, ServiceRequest
from tests.fakes.crm import FakeCrm
from tests.gateway.connectors.conftest import API_KEY, JURISDICTION, open311_options


async def test_submit_files_a_case_with_georeport_fields(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    ref = await open311.submit(pothole, "key-1")
    assert ref.token is None
    assert ref.case_id in crm.cases
    case = crm.cases[ref.case_id]
    assert case["api_key"] == API_KEY
    assert case["jurisdiction_id"] == JURISDICTION
    assert case["service_code"] == "pothole"
    assert (case["lat"], case["long"]) == ("41.483207", "-71.312674")
    assert case["address_string"] == "280 Spring St, Newport, RI 02840"
    assert (case["first_name"], case["last_name"]) == ("Sam", "Rivera")
    assert (case["phone"], case["email"]) == ("+14015550123", "sam.rivera@example.com")
    assert case["description"].endswith("tracking number K7M2QX]")
    assert case["media_url"] == "https://gateway.newport311.example.org/media/K7M2QX/1.jpg"
    assert case["attribute[SIZE]"] == "large"
    assert case["attribute[NEAR][]"] == ["manhole", "utility_patch"]
    assert case["attribute[DEPTH_IN]"] == "5"
    assert case["idempotency_key"] == "key-1"


async def test_anonymous_reporter_sends_no_contact(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    anonymous = dataclasses.replace(
        pothole,
        reporter=dataclasses.replace(pothole.reporter, anonymous=True),
        description="Pothole on Spring St. Call me at +14015550123 if needed.",
    )
    ref = await open311.submit(anonymous, "key-anon")
    assert ref.case_id is not None
    case = crm.cases[ref.case_id]
    for field in ("email", "phone", "first_name", "last_name", "device_id", "account_id"):
        assert field not in case
    sent = json.dumps(case)
    for secret in ("+14015550123", "sam.rivera@example.com", "Rivera"):
        assert secret not in sent


async def test_address_only_request_sends_address_string_without_lat_long(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    request = dataclasses.replace(pothole, location=Location(address="16 Carey St, Newport"))
    ref = await open311.submit(request, "key-address")
    case = crm.cases[str(ref.case_id)]
    assert case["address_string"] == "16 Carey St, Newport"
    assert "lat" not in case
    assert "long" not in case


async def test_same_idempotency_key_twice_makes_one_case(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    first = await open311.submit(pothole, "key-same")
    second = await open311.submit(pothole, "key-same")
    assert first == second
    assert len(crm.cases) == 1
    assert crm.posts == 2
    other = await open311.submit(pothole, "key-other")
    assert other.case_id != first.case_id
    assert len(crm.cases) == 2


async def test_token_answer_then_resolve_token_gives_the_case_id(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    crm.answer_with_token(True)
    ref = await open311.submit(pothole, "key-token")
    assert ref.case_id is None
    assert ref.token is not None
    case_id = await open311.resolve_token(ref.token)
    assert case_id is not None
    assert case_id in crm.cases
    assert await open311.resolve_token("no-such-token") is None


async def test_crm_validation_errors_become_one_clear_permanent_reason(
    crm: FakeCrm, secrets_env: None, pothole: ServiceRequest
) -> None:
    # Without a fallback place the CRM refuses a request that has none.
    connector = Open311Connector(open311_options(crm, unknown_place=""))
    nowhere = dataclasses.replace(pothole, location=None)
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            await connector.submit(nowhere, "key-nowhere")
    finally:
        await connector.close()
    assert caught.value.status == 400
    assert "A full location parameter must be submitted" in caught.value.reason
    assert crm.cases == {}


async def test_request_without_a_place_is_sent_with_the_fallback_address(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    nowhere = dataclasses.replace(pothole, location=None)
    ref = await open311.submit(nowhere, "key-nowhere")
    case = crm.cases[ref.case_id or ""]
    assert case["address_string"] == "Location not given; see the description"
    assert "lat" not in case


async def test_wrong_api_key_is_permanent_403(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    crm.api_key = "a-different-key"
    with pytest.raises(PermanentDeliveryError) as caught:
        await open311.submit(pothole, "key-403")
    assert caught.value.status == 403
    assert "Invalid api_key" in caught.value.reason


async def test_missing_service_code_is_permanent_without_a_call(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    with pytest.raises(PermanentDeliveryError, match="service_code"):
        await open311.submit(dataclasses.replace(pothole, service_code=None), "key-none")
    assert crm.posts == 0


async def test_default_service_code_fills_in(
    crm: FakeCrm, secrets_env: None, pothole: ServiceRequest
) -> None:
    connector = Open311Connector(open311_options(crm, default_service_code="general"))
    try:
        ref = await connector.submit(dataclasses.replace(pothole, service_code=None), "k")
    finally:
        await connector.close()
    assert crm.cases[str(ref.case_id)]["service_code"] == "general"


async def test_timed_out_post_retried_with_same_key_makes_one_case(
    crm: FakeCrm, secrets_env: None, pothole: ServiceRequest
) -> None:
    connector = Open311Connector(open311_options(crm, timeout_seconds=0.3))
    try:
        crm.hang_next(1, 0.8)
        with pytest.raises(TransientDeliveryError, match="no answer within"):
            await connector.submit(pothole, "key-slow")
        # The CRM finishes the slow request after the gateway gave up, as real ones do.
        for _ in range(50):
            if crm.cases:
                break
            await asyncio.sleep(0.05)
        ref = await connector.submit(pothole, "key-slow")
    finally:
        await connector.close()
    assert list(crm.cases) == [ref.case_id]
    assert crm.posts == 2


async def test_fetch_updates_reports_status_changes_after_since(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    first = await open311.submit(pothole, "key-a")
    second = await open311.submit(pothole, "key-b")
    created = await open311.fetch_updates(before)
    assert {u.case_id for u in created} == {first.case_id, second.case_id}
    assert {u.status for u in created} == {"open"}

    cutoff = datetime.now(UTC)
    await asyncio.sleep(0.01)
    crm.set_status(str(first.case_id), "closed", "Filled with cold patch.")
    updates = await open311.fetch_updates(cutoff)
    assert [(u.case_id, u.status, u.note) for u in updates] == [
        (first.case_id, "closed", "Filled with cold patch.")
    ]
    assert updates[0].updated_at is not None and updates[0].updated_at > cutoff


async def test_fetch_updates_sends_w3c_window_and_jurisdiction(
    crm: FakeCrm, open311: Open311Connector
) -> None:
    assert await open311.fetch_updates(datetime.now(UTC)) == []
    method, path = crm.seen[-1]
    query = parse_qs(urlsplit(path).query)
    assert method == "GET"
    assert query["jurisdiction_id"] == [JURISDICTION]
    start = datetime.fromisoformat(query["start_date"][0])
    end = datetime.fromisoformat(query["end_date"][0])
    assert query["end_date"][0].endswith("Z")
    assert timedelta(days=89) < end - start <= timedelta(days=90)


async def test_email_only_reporter_gets_a_pseudonymous_account_id(
    crm: FakeCrm, open311: Open311Connector, pothole: ServiceRequest
) -> None:
    request = dataclasses.replace(pothole, reporter=Reporter(email="a@example.org"))
    ref = await open311.submit(request, "key-email-only")
    case = crm.cases[str(ref.case_id)]
    assert case["email"] == "a@example.org"
    assert "phone" not in case
    assert "device_id" not in case
    assert case["account_id"].startswith("gw-reporter-")


def test_registered_and_validates_its_options() -> None:
    connectors = load_all()
    assert connectors["open311"] is Open311Connector
    problems = Open311Connector.validate(
        {"endpoint": "https://crm.example.org/v2", "lookback_days": 120, "timeout_seconds": 0},
        env={},
    )
    paths = sorted(p.path for p in problems)
    assert paths == [
        "connectors.open311.endpoint",
        "connectors.open311.lookback_days",
        "connectors.open311.timeout_seconds",
    ]
    assert Open311Connector.validate({"endpoint": "https://crm.example.org/v2/"}, env={}) == []
    missing = Open311Connector.validate({"api_key_env": "NOPE"}, env={})
    assert {p.path for p in missing} == {
        "connectors.open311.endpoint",
        "connectors.open311.api_key_env",
    }
