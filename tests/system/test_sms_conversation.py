"""Whole SMS conversations: the resident texts, the gateway answers through Twilio's API.

Webhooks are signed with the twilio SDK's validator and posted over loopback; replies go out
through the SDK's REST client to a loopback server speaking Twilio's Messages API; the city's
case system is the loopback GeoReport v2 CRM. The gazetteer is built from the Newport history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from gateway.outbox import jobs
from gateway.outbox.sync import StatusSync
from gateway.records import Status
from gateway.runtime import Runtime
from gateway.store import requests
from gateway.store.schema import service_requests
from tests.conftest import SHARED_FIXTURES, TWILIO_TOKEN
from tests.fakes.crm import FakeCrm
from tests.fakes.twilio_api import FakeTwilioApi
from tests.gateway.outbox.conftest import fast_settings
from tests.support import make_settings, post_twilio, serve

ACCOUNT = "AC" + "1" * 32
CITY = "+14015550100"


@pytest.fixture
async def twilio(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTwilioApi]:
    api = FakeTwilioApi(ACCOUNT, TWILIO_TOKEN)
    monkeypatch.setenv("TWILIO_API_BASE_URL", await api.start())
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    yield api
    await api.close()


@pytest.fixture
async def runtime(
    tmp_path: Path, database_url: str, twilio: FakeTwilioApi, crm: FakeCrm, newport_gazetteer: Path
) -> Runtime:
    overrides = {
        "connectors": {
            "folder": {"enabled": False},
            "open311": {"enabled": True, "endpoint": crm.open311_endpoint, "api_key_env": "HOME"},
        },
        "notifiers": {"twilio_sms": {"enabled": True, "number": CITY}},
        "fetchers": {"twilio_media": {"enabled": True, "hosts": ["127.0.0.1"], "max_bytes": 4096}},
        "channels": {"twilio_sms": {"media_hosts": ["127.0.0.1"]}},
        "normalizer": {"gazetteer": str(newport_gazetteer)},
    }
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    # Tiny retry waits, so that a test can watch an outage end.
    runtime.settings = dataclasses.replace(runtime.settings, outbox=fast_settings())
    return runtime


def fixture_form(name: str, **changes: str) -> bytes:
    form = dict(parse_qsl((SHARED_FIXTURES / "twilio" / name).read_text(), True))
    return urlencode({**form, **changes}).encode()


async def text(client: TestClient[Any, Any], runtime: Runtime, body: bytes) -> str:
    """Post one signed SMS, then let the pipeline and the outbox do their work."""
    resp = await post_twilio(client, body)
    assert resp.status == 200
    twiml = await resp.text()
    await settle(runtime)
    return twiml


async def settle(runtime: Runtime) -> None:
    await runtime.intake_worker().run_once()
    worker = runtime.outbox_worker()
    while await worker.run_once():
        pass


async def request_of(runtime: Runtime, sid: str) -> Any:
    async with runtime.engine.connect() as conn:
        query = select(service_requests.c.id).where(service_requests.c.channel_message_id == sid)
        request_id = (await conn.execute(query)).scalar_one()
        return await requests.get_request(conn, request_id)


def sid_of(name: str) -> str:
    return dict(parse_qsl((SHARED_FIXTURES / "twilio" / name).read_text(), True))["MessageSid"]


async def test_missing_place_is_asked_and_the_answer_completes_the_request(
    runtime: Runtime, twilio: FakeTwilioApi, crm: FakeCrm
) -> None:
    resident = "+14015550147"
    async with serve(runtime) as client:
        first = await text(client, runtime, fixture_form("sms_needs_location.form"))
        assert "Tracking number" in first
        held = await request_of(runtime, sid_of("sms_needs_location.form"))
        assert held.status is Status.AWAITING_INFO
        assert twilio.bodies_to(resident) == [
            "Where is it? Reply with an address or the nearest cross streets."
        ]
        assert crm.cases == {}  # nothing is filed while the question waits

        answer = await text(client, runtime, fixture_form("sms_followup_location_reply.form"))
        assert "<Message>" not in answer  # an answer gets no second tracking number
    done = await request_of(runtime, sid_of("sms_needs_location.form"))
    assert done.status is Status.SUBMITTED
    assert done.location.lat == pytest.approx(41.484383, abs=0.0015)
    assert done.location.long == pytest.approx(-71.313048, abs=0.0015)
    assert twilio.bodies_to(resident)[-1] == (
        f"Got it, thanks. Report {held.tracking_number} is on its way to the city."
    )
    assert len(crm.cases) == 1


async def test_status_command_answers_with_the_request_state(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    resident = "+14015550123"
    async with serve(runtime) as client:
        await text(client, runtime, fixture_form("sms_inbound.form"))
        filed = await request_of(runtime, sid_of("sms_inbound.form"))
        number = filed.tracking_number
        reply = await text(
            client, runtime, fixture_form("sms_status_query.form", Body=f"STATUS {number}")
        )
        assert "<Message>" not in reply
        await text(
            client,
            runtime,
            fixture_form("sms_status_query.form", Body="status", MessageSid="SM" + "5" * 32),
        )
        await text(
            client,
            runtime,
            fixture_form("sms_status_query.form", Body="STATUS ZZZZZZ", MessageSid="SM" + "6" * 32),
        )
    assert twilio.bodies_to(resident) == [
        f"Report {number}: with the city.",
        f"Report {number}: with the city.",
        "We found no report with that number. Reply STATUS for your latest one.",
    ]


async def test_stop_silences_every_message_until_start(
    runtime: Runtime, twilio: FakeTwilioApi, crm: FakeCrm
) -> None:
    resident = "+14015550123"
    async with serve(runtime) as client:
        await text(client, runtime, fixture_form("sms_inbound.form"))
        await text(client, runtime, fixture_form("sms_stop.form", From=resident))
        filed = await request_of(runtime, sid_of("sms_inbound.form"))
        crm.set_status(filed.case_id, "closed", "Filled today")
        await StatusSync(runtime.engine, runtime.connectors(), runtime.settings).run_once()
        await settle(runtime)
        assert twilio.bodies_to(resident) == []
        notes = await jobs.list_jobs(runtime.engine, kind=jobs.NOTIFY)
        assert [n.state for n in notes] == [jobs.DONE]  # suppressed, not lost, not retried

        await text(
            client,
            runtime,
            fixture_form("sms_stop.form", From=resident, Body="START", MessageSid="SM" + "7" * 32),
        )
        await text(
            client,
            runtime,
            fixture_form("sms_status_query.form", Body="STATUS", MessageSid="SM" + "8" * 32),
        )
    assert twilio.bodies_to(resident) == [f"Report {filed.tracking_number}: resolved."]


async def test_emergency_is_told_to_call_911_at_once_and_filed_without_questions(
    runtime: Runtime, twilio: FakeTwilioApi, crm: FakeCrm
) -> None:
    async with serve(runtime) as client:
        twiml = await text(client, runtime, fixture_form("sms_gas_emergency.form"))
    assert "If anyone is in danger, call 911 now." in twiml
    filed = await request_of(runtime, sid_of("sms_gas_emergency.form"))
    assert filed.flags.emergency
    assert filed.status is Status.SUBMITTED
    assert twilio.sent == []


async def test_whatsapp_pin_is_the_location(runtime: Runtime, crm: FakeCrm) -> None:
    async with serve(runtime) as client:
        await text(client, runtime, fixture_form("whatsapp_location.form"))
    filed = await request_of(runtime, sid_of("whatsapp_location.form"))
    assert (filed.location.lat, filed.location.long) == (41.481604, -71.312113)
    assert filed.location.source == "provider"


async def test_unsure_service_is_chosen_by_number_and_its_status_reaches_them_in_spanish(
    runtime: Runtime, twilio: FakeTwilioApi, crm: FakeCrm
) -> None:
    resident = "+14015550142"
    async with serve(runtime) as client:
        receipt = await text(client, runtime, fixture_form("sms_spanish.form"))
        assert "Número de seguimiento" in receipt
        (question,) = twilio.bodies_to(resident)
        assert question.startswith("¿Cuál es? Responda con un número: 1 ")
        held = await request_of(runtime, sid_of("sms_spanish.form"))
        async with runtime.engine.connect() as conn:
            asked = [e for e in await requests.events(conn, held.id) if e["kind"] == "question"]
        offered = asked[0]["detail"]["choices"]
        assert len(offered) >= 2
        answer = fixture_form("sms_spanish.form", Body="2", MessageSid="SM" + "9" * 32)
        assert "<Message>" not in await text(client, runtime, answer)
        filed = await request_of(runtime, sid_of("sms_spanish.form"))
        assert filed.service_code == offered[1]
        assert filed.reporter.language == "es" and filed.case_id in crm.cases
        assert twilio.bodies_to(resident)[-1] == (
            f"Recibido, gracias. El reporte {filed.tracking_number} va en camino a la ciudad."
        )

        crm.set_status(filed.case_id, "closed", "Recogido hoy")
        sync = StatusSync(runtime.engine, runtime.connectors(), runtime.settings)
        for _ in range(3):
            await sync.run_once()
            await settle(runtime)
    told = [b for b in twilio.bodies_to(resident) if "ahora está" in b]
    assert told == [
        f"City of Example 311: el reporte {filed.tracking_number} ahora está resuelto. Recogido hoy"
    ]


async def test_replies_wait_out_a_twilio_outage_and_go_once(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    resident = "+14015550147"
    twilio.down = True
    async with serve(runtime) as client:
        await text(client, runtime, fixture_form("sms_needs_location.form"))
        worker = runtime.outbox_worker()
        for _ in range(3):
            await worker.run_once()
        assert twilio.sent == [] and twilio.attempts >= 2
        twilio.down = False
        for _ in range(200):
            await worker.run_once()
            if twilio.sent:
                break
    assert len(twilio.bodies_to(resident)) == 1


JPEG = b"\xff\xd8\xff\xe0" + b"photo of a mattress" * 10


async def test_mms_photo_is_fetched_from_twilio_and_stored_with_its_hash(
    runtime: Runtime, twilio: FakeTwilioApi, tmp_path: Path
) -> None:
    import hashlib

    form = dict(parse_qsl((SHARED_FIXTURES / "twilio" / "mms_two_photos.form").read_text(), True))
    sid = form["MessageSid"]
    twilio.media = {"ME1": ("image/jpeg", JPEG), "ME2": ("image/png", b"\x89PNG" + b"x" * 5000)}
    body = fixture_form(
        "mms_two_photos.form",
        MediaUrl0=twilio.media_url(sid, "ME1"),
        MediaUrl1=twilio.media_url(sid, "ME2"),
    )
    async with serve(runtime) as client:
        await text(client, runtime, body)
        filed = await request_of(runtime, sid)
        async with runtime.engine.connect() as conn:
            kinds = [e["kind"] for e in await requests.events(conn, filed.id)]
    first, second = filed.media
    assert first.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert first.size == len(JPEG) and first.content_type == "image/jpeg"
    assert Path(first.path).read_bytes() == JPEG
    assert first.url == twilio.media_url(sid, "ME1")  # the provider's URL is kept beside it
    # The second photo is over the 4 kB cap: refused, and said so on the request's history.
    assert second.path is None
    assert kinds.count("media_stored") == 1 and kinds.count("media_failed") == 1


async def test_media_is_never_fetched_from_another_host(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    form = dict(parse_qsl((SHARED_FIXTURES / "twilio" / "mms_photo_only.form").read_text(), True))
    sid = form["MessageSid"]
    twilio.media = {"ME1": ("image/jpeg", JPEG)}
    elsewhere = twilio.media_url(sid, "ME1").replace("127.0.0.1", "localhost")
    async with serve(runtime) as client:
        await text(client, runtime, fixture_form("mms_photo_only.form", MediaUrl0=elsewhere))
        # A redirect to a host outside the list is refused as well.
        twilio.cdn_host = "localhost"
        other = fixture_form(
            "mms_photo_only.form",
            MessageSid="SM" + "4" * 32,
            From="+14015550188",
            MediaUrl0=twilio.media_url(sid, "ME1"),
        )
        await text(client, runtime, other)
    assert not any(path.startswith("/cdn/") for path in twilio.media_requests)
    # A host outside the channel's list is refused when parsed: never queued for a fetch.
    assert (await request_of(runtime, sid)).media == ()
    redirected = await request_of(runtime, "SM" + "4" * 32)
    assert redirected.media[0].path is None
