"""``POST /webhooks/case-status``: a case system pushes a status change, over loopback.

The request is filed for real (the outbox delivers it to the loopback GeoReport CRM, which names
the case); the webhook is signed with the ``webhook`` connector's own signer, as the module says;
the resident's messages go out through the notifier to the loopback Twilio Messages API.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.connectors.webhook import SIGNATURE_HEADER, sign
from gateway.outbox import jobs
from gateway.records import ServiceRequest, Status
from gateway.runtime import Runtime
from gateway.store import requests
from tests.conftest import TWILIO_TOKEN
from tests.fakes.crm import FakeCrm
from tests.fakes.twilio_api import FakeTwilioApi
from tests.gateway.outbox.conftest import fast_settings, seed
from tests.support import make_settings, serve

ROUTE = "/webhooks/case-status"
SECRET = "case_status_secret_not_real_0000"
ACCOUNT = "AC" + "2" * 32
# The resident of ``seed``'s request, who texted it in.
RESIDENT = "+14015550142"


@dataclasses.dataclass(frozen=True, slots=True)
class Filed:
    """A request the CRM has, and the app serving the webhook."""

    client: TestClient[Any, Any]
    runtime: Runtime
    twilio: FakeTwilioApi
    request: ServiceRequest


@pytest.fixture
async def twilio(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTwilioApi]:
    api = FakeTwilioApi(ACCOUNT, TWILIO_TOKEN)
    monkeypatch.setenv("TWILIO_API_BASE_URL", await api.start())
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    yield api
    await api.close()


@pytest.fixture
async def filed(
    tmp_path: Path,
    database_url: str,
    crm: FakeCrm,
    twilio: FakeTwilioApi,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Filed]:
    monkeypatch.setenv("CASE_STATUS_SECRET", SECRET)
    overrides = {
        "connectors": {
            "folder": {"enabled": False},
            "open311": {"enabled": True, "endpoint": crm.open311_endpoint, "api_key_env": "HOME"},
        },
        "notifiers": {"twilio_sms": {"enabled": True}},
        "status_webhook": {"enabled": True, "secret_env": "CASE_STATUS_SECRET"},
    }
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    runtime.settings = dataclasses.replace(runtime.settings, outbox=fast_settings())
    (request_id,) = await seed(runtime.engine, 1)
    await settle(runtime)
    request = await current(runtime, request_id)
    assert request.status is Status.SUBMITTED and request.case_id in crm.cases
    async with serve(runtime) as client:
        yield Filed(client, runtime, twilio, request)


async def settle(runtime: Runtime) -> None:
    """Let the outbox deliver and send everything that is due."""
    worker = runtime.outbox_worker()
    while await worker.run_once():
        pass


async def current(runtime: Runtime, request_id: str) -> ServiceRequest:
    async with runtime.engine.connect() as conn:
        request = await requests.get_request(conn, request_id)
    assert request is not None
    return request


async def changes(runtime: Runtime, request_id: str) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as conn:
        history = await requests.events(conn, request_id)
    return [e for e in history if e["kind"] == "status_changed"]


async def status_notes(runtime: Runtime) -> list[jobs.Job]:
    notes = await jobs.list_jobs(runtime.engine, kind=jobs.NOTIFY)
    return [n for n in notes if n.payload.get("purpose") == "status"]


async def post(
    client: TestClient[Any, Any],
    payload: Any,
    *,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> ClientResponse:
    """POST ``payload`` (JSON, or bytes as they are) signed as a case system signs it."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    return await client.post(ROUTE, data=body, headers={**sent, **(headers or {})})


def change(request: ServiceRequest, status: str, note: str, at: str) -> dict[str, str]:
    return {
        "tracking_number": request.tracking_number,
        "status": status,
        "note": note,
        "updated_at": at,
    }


async def test_signed_change_sets_status_adds_history_and_tells_the_resident_once(
    filed: Filed,
) -> None:
    request = filed.request
    resp = await post(
        filed.client, change(request, "in_progress", "Crew 7 assigned", "2025-10-14T15:00:00Z")
    )
    assert resp.status == 200
    assert await resp.json() == {"tracking_number": request.tracking_number, "changed": True}
    assert (await current(filed.runtime, request.id)).status is Status.OPEN
    (event,) = await changes(filed.runtime, request.id)
    assert event["status"] == "open"
    assert event["detail"] == {
        "source": "status_webhook",
        "case_status": "in_progress",
        "note": "Crew 7 assigned",
        "updated_at": "2025-10-14T15:00:00+00:00",
    }
    (note,) = await status_notes(filed.runtime)
    assert (note.target, note.request_id, note.payload["to"]) == (
        "twilio_sms",
        request.id,
        RESIDENT,
    )
    await settle(filed.runtime)
    assert filed.twilio.bodies_to(RESIDENT) == [
        f"City of Example 311: report {request.tracking_number} is now being worked on."
        " Crew 7 assigned"
    ]


async def test_the_same_call_repeated_changes_nothing_and_notifies_no_one_twice(
    filed: Filed,
) -> None:
    request = filed.request
    payload = change(request, "closed", "Pothole filled", "2025-10-14T16:00:00Z")
    first = await post(filed.client, payload)
    await settle(filed.runtime)
    again = await post(filed.client, payload)
    await settle(filed.runtime)
    assert (first.status, again.status) == (200, 200)
    assert (await again.json())["changed"] is False
    assert (await current(filed.runtime, request.id)).status is Status.CLOSED
    assert len(await changes(filed.runtime, request.id)) == 1
    assert len(await status_notes(filed.runtime)) == 1
    assert filed.twilio.bodies_to(RESIDENT) == [
        f"City of Example 311: report {request.tracking_number} is now resolved. Pothole filled"
    ]


async def test_a_late_retry_of_an_older_change_tells_the_resident_nothing_new(
    filed: Filed,
) -> None:
    # The CRM retries its first call after the second one landed: the stale retry changes
    # nothing (test_case_status_order.py checks the request stays closed), and the resident's
    # message for it has the first call's once-only key, so it is not sent again.
    request = filed.request
    opened = change(request, "in_progress", "Crew 7 assigned", "2025-10-14T15:00:00Z")
    closed = change(request, "closed", "Pothole filled", "2025-10-14T16:00:00Z")
    for payload in (opened, closed, opened):
        assert (await post(filed.client, payload)).status == 200
        await settle(filed.runtime)
    assert len(await status_notes(filed.runtime)) == 2
    assert [b.split(" is now ")[1] for b in filed.twilio.bodies_to(RESIDENT)] == [
        "being worked on. Crew 7 assigned",
        "resolved. Pothole filled",
    ]


async def test_the_case_id_the_crm_gave_finds_the_request(filed: Filed) -> None:
    request = filed.request
    resp = await post(filed.client, {"case_id": request.case_id, "status": "closed"})
    assert resp.status == 200
    assert (await resp.json())["tracking_number"] == request.tracking_number
    assert (await current(filed.runtime, request.id)).status is Status.CLOSED
    (note,) = await status_notes(filed.runtime)
    assert note.payload["body"].endswith(f"report {request.tracking_number} is now resolved.")


async def test_a_new_note_with_the_same_status_is_recorded_and_told_once(filed: Filed) -> None:
    # A new note is news even when the gateway's status (open / closed) stays the same: it lands
    # on the history and reaches the resident, once per distinct note; a retry of the same call,
    # or the same note again, changes nothing.
    request = filed.request
    first = change(request, "in_progress", "Crew 7 assigned", "2025-10-14T15:00:00Z")
    later = change(request, "in_progress", "Crew on site now", "2025-10-15T09:00:00Z")
    other = change(request, "on_hold", "Waiting for gas company", "2025-10-16T09:00:00Z")
    answers = []
    for payload in (first, later, later, other):
        resp = await post(filed.client, payload)
        assert resp.status == 200
        answers.append((await resp.json())["changed"])
        await settle(filed.runtime)
    same_note_again = await post(
        filed.client, change(request, "in_progress", "Crew on site now", "2025-10-17T09:00:00Z")
    )
    assert answers == [True, True, False, True]
    assert (await same_note_again.json())["changed"] is False
    assert (await current(filed.runtime, request.id)).status is Status.OPEN
    notes = [e["detail"]["note"] for e in await changes(filed.runtime, request.id)]
    assert notes == ["Crew 7 assigned", "Crew on site now", "Waiting for gas company"]
    assert len(await status_notes(filed.runtime)) == 3
    assert [b.split(" is now ")[1] for b in filed.twilio.bodies_to(RESIDENT)] == [
        "being worked on. Crew 7 assigned",
        "being worked on. Crew on site now",
        "being worked on. Waiting for gas company",
    ]


async def test_bad_signature_is_403_and_changes_nothing(filed: Filed) -> None:
    request = filed.request
    payload = change(request, "closed", "Pothole filled", "2025-10-14T16:00:00Z")
    body = json.dumps(payload).encode()
    forged = await post(filed.client, payload, secret="not-the-city-secret")
    unsigned = await filed.client.post(
        ROUTE, data=body, headers={"Content-Type": "application/json"}
    )
    # Signed, then altered on the way: the signature covers the exact bytes.
    tampered = await filed.client.post(
        ROUTE,
        data=body.replace(b"Pothole filled", b"Pothole ignored"),
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(SECRET, body)},
    )
    for resp in (forged, unsigned, tampered):
        assert resp.status == 403
        assert (await resp.json())["error"] == "bad_signature"
    assert (await current(filed.runtime, request.id)).status is Status.SUBMITTED
    assert await changes(filed.runtime, request.id) == []
    assert await status_notes(filed.runtime) == []


async def test_the_secret_missing_from_the_environment_refuses_every_call(
    filed: Filed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASE_STATUS_SECRET")
    payload = {"case_id": filed.request.case_id, "status": "closed"}
    # Neither the key the CRM holds nor the empty key an attacker would try is accepted.
    for secret in (SECRET, ""):
        resp = await post(filed.client, payload, secret=secret)
        assert resp.status == 403
    assert (await current(filed.runtime, filed.request.id)).status is Status.SUBMITTED


@pytest.mark.parametrize(
    ("payload", "wanted"),
    [
        ({"tracking_number": "ZZZZZZ", "status": "closed"}, "'ZZZZZZ'"),
        ({"case_id": "NPT-0000-000000", "status": "closed"}, "'NPT-0000-000000'"),
    ],
    ids=["tracking_number", "case_id"],
)
async def test_unknown_request_is_404_and_changes_nothing(
    filed: Filed, payload: dict[str, str], wanted: str
) -> None:
    resp = await post(filed.client, payload)
    assert resp.status == 404
    assert await resp.json() == {"error": "not_found", "reason": f"no request for {wanted}"}
    assert await changes(filed.runtime, filed.request.id) == []
    assert await status_notes(filed.runtime) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"tracking_number": "K7M2QX", "status": ', "body is not JSON"),
        (b"\xff\xfe not utf-8", "body is not JSON"),
        (b'["closed"]', "status is required"),
        (b'{"tracking_number": "K7M2QX"}', "status is required"),
        (b'{"status": "closed", "note": "no id"}', "case_id or tracking_number is required"),
        (b'{"case_id": "X", "status": "closed", "updated_at": "Tuesday"}', "updated_at is not"),
    ],
    ids=["truncated", "not_utf8", "not_an_object", "no_status", "no_id", "bad_time"],
)
async def test_malformed_body_is_400_with_its_reason(
    filed: Filed, body: bytes, reason: str
) -> None:
    resp = await post(filed.client, body)
    assert resp.status == 400
    answer = await resp.json()
    assert answer["error"] == "malformed_payload"
    assert answer["reason"].startswith(reason)
    assert await changes(filed.runtime, filed.request.id) == []


async def test_wrong_content_type_is_415(filed: Filed) -> None:
    resp = await post(
        filed.client,
        {"case_id": filed.request.case_id, "status": "closed"},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 415
    assert (await resp.json())["error"] == "unsupported_media_type"
