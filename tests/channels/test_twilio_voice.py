"""Twilio Voice IVR: whole calls driven as Twilio drives them, on SQLite and PostgreSQL.

Each webhook is built from the shared fixtures ``voice_incoming_call.form``,
``voice_gather_digits.form``, ``voice_gather_speech.form``, ``voice_recording_status.form`` and
``voice_transcription.form``, signed with the twilio SDK's signer and posted over loopback to the
URL the previous answer named; every answer is parsed and checked against the TwiML verbs and
attributes Twilio documents. The SMS copy and the recording go through the loopback Twilio API.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.twilio_voice import DAYS, TwilioVoice
from gateway.records import ServiceRequest
from gateway.runtime import Runtime
from gateway.store import contacts, requests
from gateway.store.schema import inbound_messages, service_requests
from gateway.tracking import ALPHABET
from tests.channels.voice_calls import (
    CALLER,
    FIXTURE_CALL,
    INCOMING,
    ROUTE,
    Call,
    form_of,
    gather,
    said,
    settle,
    spelled,
)
from tests.conftest import REPO_ROOT, TWILIO_TOKEN
from tests.fakes.twilio_api import FakeTwilioApi
from tests.gateway.outbox.conftest import fast_settings
from tests.support import make_settings, serve, twilio_headers

ACCOUNT = "AC" + "2" * 32
CITY = "+14015550100"
DESK = "+14015550199"


@pytest.fixture
async def twilio(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTwilioApi]:
    api = FakeTwilioApi(ACCOUNT, TWILIO_TOKEN)
    monkeypatch.setenv("TWILIO_API_BASE_URL", await api.start())
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    yield api
    await api.close()


@pytest.fixture
def voice_options() -> Mapping[str, Any]:
    return {}


@pytest.fixture
async def runtime(
    tmp_path: Path,
    database_url: str,
    twilio: FakeTwilioApi,
    newport_gazetteer: Path,
    voice_options: Mapping[str, Any],
) -> Runtime:
    overrides = {
        "connectors": {"folder": {"enabled": True, "path": str(tmp_path / "cases")}},
        "channels": {"twilio_voice": {"enabled": True, **voice_options}},
        "notifiers": {"twilio_sms": {"enabled": True, "number": CITY}},
        "fetchers": {"twilio_media": {"enabled": True, "hosts": ["127.0.0.1"]}},
        "normalizer": {"gazetteer": str(newport_gazetteer)},
    }
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    runtime.settings = dataclasses.replace(runtime.settings, outbox=fast_settings())
    return runtime


async def the_request(runtime: Runtime, sid: str = FIXTURE_CALL) -> ServiceRequest:
    async with runtime.engine.connect() as conn:
        query = select(service_requests.c.id).where(service_requests.c.channel_message_id == sid)
        request_id = (await conn.execute(query)).scalar_one()
        found = await requests.get_request(conn, request_id)
    assert found is not None
    return found


async def request_count(runtime: Runtime) -> int:
    async with runtime.engine.connect() as conn:
        return len(list(await conn.execute(select(service_requests.c.id))))


async def to_place(call: Call) -> ET.Element:
    """Greeting, English, the water main spoken, the guess confirmed: the place is asked."""
    await call.start()
    await call.press("1")
    await call.say_fixture()
    return await call.press("1")


async def to_tracking(call: Call) -> ET.Element:
    """From the place question: 23 Warner St confirmed, no recording, caller ID, text copy."""
    await call.say("23 Warner Street")
    await call.press("1")
    await call.silence()
    await call.press("1")
    return await call.press("1")


async def test_english_call_files_the_spoken_problem_place_service_and_caller(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        greeting = await call.start()
        first = gather(greeting)
        assert first.get("input") == "speech dtmf"
        assert first.get("language") == "en-US"
        assert first.get("actionOnEmptyResult") == "true"
        assert "dial 911" in said(greeting)
        assert "para español, oprima 2" in said(greeting).lower()
        problem = gather(await call.press("1"))
        assert problem.get("speechTimeout") == "auto"
        assert "pothole" in (problem.get("hints") or "")
        assert problem.get("action", "").startswith(f"{ROUTE}?seq=")
        confirm = await call.say_fixture()
        assert "It sounds like Water leak" in said(confirm)
        place = await call.press("1")
        assert "street address or the nearest intersection" in said(place)
        check = await call.say("23 Warner Street")
        assert "Warner" in said(check) and "Is that right" in said(check)
        record = await call.press("1")
        verb = record.find("Record")
        assert verb is not None
        assert verb.get("maxLength") == "120"
        assert verb.get("transcribe") == "true"
        assert verb.get("recordingStatusCallback") == f"{ROUTE}?event=recording"
        assert verb.get("transcribeCallback") == f"{ROUTE}?event=transcription"
        assert record.find("Redirect") is not None
        assert "anonymous" in said(await call.silence())
        assert "text message" in said(await call.press("1"))
        tracking = await call.press("1")
        number = spelled(tracking)
        assert len(number) >= 6 and set(number) <= set(ALPHABET)
        assert [e.get("interpret-as") for e in tracking.iter("say-as")] == ["spell-out"] * len(
            number
        )
        again = await call.press("1")
        assert spelled(again) == number
        goodbye = await call.press("2")
        assert goodbye.find("Hangup") is not None
        await call.hang_up()
        await settle(runtime)
    request = await the_request(runtime)
    assert request.tracking_number == number
    assert request.service_code == "water_leak"
    assert "water bubbling up" in request.description
    assert request.location is not None and request.location.lat is not None
    assert request.reporter.phone == CALLER
    assert "review" not in request.flags.needs_follow_up
    # The text copy, through the SMS notifier, once.
    assert [b for b in twilio.bodies_to(CALLER) if number in b] != []
    assert len(twilio.bodies_to(CALLER)) == 1


async def test_spanish_call_is_heard_in_spanish_and_stays_anonymous(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        problem = await call.say("español")
        assert gather(problem).get("language") == "es-US"
        assert "díganos brevemente" in said(problem)
        confirm = await call.say("Hay un bache muy grande en la calle")
        assert "Bache" in said(confirm)
        assert "dirección" in said(await call.say("sí"))
        await call.say("23 Warner Street")
        await call.press("1")
        await call.silence()
        tracking = await call.press("2")
        assert "número de seguimiento" in said(tracking)
        await call.press("2")
        await settle(runtime)
    request = await the_request(runtime)
    assert request.service_code == "pothole"
    assert request.reporter.language == "es"
    assert request.reporter.anonymous and request.reporter.phone is None
    assert twilio.sent == []


async def test_keypad_only_call_chooses_from_the_menu_pages(runtime: Runtime) -> None:
    catalog = list(runtime.catalog.values())
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        await call.press("1")
        menu = await call.press("1")
        menu_gather = gather(menu)
        assert menu_gather.get("numDigits") == "1"
        assert len(list(menu_gather.iter("Say"))) == 9
        assert f"For {catalog[0].name()}, press 1." in said(menu)
        assert "press 9" in said(menu)
        second = await call.press("9")
        assert f"For {catalog[8].name()}, press 1." in said(second)
        place = await call.press("1")
        assert "street address" in said(place)
        for _ in range(3):
            last = await call.silence()
        assert last.find("Record") is not None
        await call.press("#")
        await call.press("1")
        await call.press("2")
        await call.press("2")
        await settle(runtime)
    request = await the_request(runtime)
    assert request.service_code == catalog[8].code
    assert request.description == ""
    assert request.reporter.phone == CALLER


async def test_an_emergency_spoken_mid_call_is_told_to_dial_911_at_once(
    runtime: Runtime,
) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        await call.press("1")
        answer = await call.say("I smell gas in the street on Burnside Ave")
        sentences = [s.text or "" for s in answer.iter("Say")]
        assert "hang up now and dial 911" in sentences[0]
        await call.hang_up()
        await settle(runtime)
    request = await the_request(runtime)
    assert request.flags.emergency
    assert "review" in request.flags.needs_follow_up


async def test_a_rejected_service_is_chosen_from_the_menu(runtime: Runtime) -> None:
    catalog = list(runtime.catalog.values())
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        await call.press("1")
        await call.say_fixture()
        menu = await call.say("no")
        assert f"For {catalog[2].name()}, press 3." in said(menu)
        assert "street address" in said(await call.press("3"))
        await to_tracking(call)
        await call.press("2")
        await settle(runtime)
    assert (await the_request(runtime)).service_code == catalog[2].code


async def test_a_place_not_found_is_asked_twice_more_then_kept_as_spoken(runtime: Runtime) -> None:
    spoken = "behind the old blue barn past the quarry"
    async with serve(runtime) as client:
        call = Call(client)
        await to_place(call)
        first = await call.say(spoken)
        assert "could not find that place" in said(first)
        assert gather(first) is not None
        second = await call.say(spoken)
        assert "could not find that place" in said(second)
        kept = await call.say(spoken)
        assert "as you said it" in said(kept)
        assert kept.find("Record") is not None
        await call.silence()
        await call.press("1")
        await call.press("2")
        await call.press("2")
        await settle(runtime)
    request = await the_request(runtime)
    assert request.location is not None
    assert request.location.address == spoken and request.location.lat is None
    assert "location" in request.flags.needs_follow_up


async def test_retried_webhooks_get_the_same_answer_and_make_one_request_and_one_sms(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        greeting = await call.start()
        assert ET.tostring(await call.retry_last()) == ET.tostring(greeting)
        await call.press("1")
        confirm = await call.say_fixture()
        assert ET.tostring(await call.retry_last()) == ET.tostring(confirm)
        await call.press("1")
        await to_tracking(call)
        tracking = call.answers[-1]
        assert ET.tostring(await call.retry_last()) == ET.tostring(tracking)
        await call.press("2")
        await call.hang_up()
        await call.hang_up()
        await settle(runtime)
        async with runtime.engine.connect() as conn:
            rows = list(await conn.execute(select(inbound_messages.c.provider_id)))
    assert await request_count(runtime) == 1
    assert len(twilio.bodies_to(CALLER)) == 1
    ids = [r.provider_id for r in rows]
    # Every distinct webhook once, plus the call's one report.
    assert len(ids) == len(set(ids))
    assert ids.count(FIXTURE_CALL) == 1


async def test_hang_up_after_the_description_keeps_a_request_flagged_for_review(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        await to_place(call)
        await call.say("23 Warner Street")
        await call.press("1")
        await call.press("#")
        await call.hang_up()
        await settle(runtime)
    request = await the_request(runtime)
    assert request.service_code == "water_leak"
    assert "review" in request.flags.needs_follow_up
    assert request.location is not None and request.location.lat is not None
    # Nobody asked for a text copy.
    assert twilio.sent == []


async def test_recording_and_transcript_after_the_call_ended_are_attached(
    runtime: Runtime, twilio: FakeTwilioApi, tmp_path: Path
) -> None:
    recording = form_of(INCOMING.parent / "voice_recording_status.form")["RecordingSid"]
    twilio.media[recording] = ("audio/mpeg", b"ID3 fake mp3 bytes")
    async with serve(runtime) as client:
        call = Call(client)
        await to_place(call)
        await to_tracking(call)
        await call.press("2")
        await call.hang_up()
        await settle(runtime)
        await call.recording(twilio.recording_url(recording))
        await call.transcription()
        await call.transcription()
        await settle(runtime)
    request = await the_request(runtime)
    assert "sidewalk is starting to ice up" in request.description
    assert request.description.count("sidewalk is starting to ice up") == 1
    assert [m.content_type for m in request.media] == ["audio/mpeg"]
    assert request.media[0].path is not None
    assert (runtime.settings.media_folder / request.media[0].path).read_bytes().startswith(b"ID3")
    assert any(p.endswith(f"{recording}.mp3") for p in twilio.media_requests)


async def test_recording_while_the_call_is_open_is_in_the_report(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    recording = form_of(INCOMING.parent / "voice_recording_status.form")["RecordingSid"]
    twilio.media[recording] = ("audio/mpeg", b"ID3 open call")
    async with serve(runtime) as client:
        call = Call(client)
        await to_place(call)
        await call.say("23 Warner Street")
        await call.press("1")
        await call.press("#")
        await call.recording(twilio.recording_url(recording))
        await settle(runtime)
        await call.press("1")
        await call.press("2")
        await call.press("2")
        await settle(runtime)
    request = await the_request(runtime)
    assert len(request.media) == 1 and request.media[0].path is not None


@pytest.mark.parametrize(
    "voice_options",
    [
        {
            "operator_number": DESK,
            "operator_days": list(("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
            "operator_opens": "00:00",
            "operator_closes": "23:59",
        }
    ],
)
async def test_operator_in_hours_dials_the_call_centre(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        await call.press("1")
        await call.say_fixture()
        transfer = await call.say("operator")
        dial = transfer.find("Dial")
        assert dial is not None and (dial.text or "").strip() == DESK
        assert dial.get("action", "").startswith(f"{ROUTE}?seq=")
        after = await call.post(
            call.action, form_of(INCOMING, CallStatus="in-progress", DialCallStatus="completed")
        )
        assert after.find("Hangup") is not None
        await call.hang_up()
        await settle(runtime)
    request = await the_request(runtime)
    assert "review" in request.flags.needs_follow_up
    assert "water bubbling up" in request.description


@pytest.mark.parametrize(
    "voice_options",
    [
        {
            "operator_number": DESK,
            "operator_days": ["mon"],
            "operator_opens": "00:00",
            "operator_closes": "00:00",
        }
    ],
)
async def test_operator_out_of_hours_says_when_it_is_open_and_goes_on(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        problem = await call.press("1")
        closed = await call.press("0")
        assert closed.find("Dial") is None
        assert "open Monday, from 00:00 to 00:00" in said(closed)
        assert gather(closed).get("hints") == gather(problem).get("hints")
        confirm = await call.say_fixture()
        assert "Water leak" in said(confirm)


async def test_a_silent_call_is_filed_by_the_worker_for_review(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        await call.press("1")
        await call.say_fixture()
        desk = runtime.call_desk({}, ROUTE)
        assert await desk.sweep() == 0
        assert await desk.sweep(datetime.now(UTC) + timedelta(minutes=31)) == 1
        await settle(runtime)
        # The call's report is kept once, whatever comes after.
        await call.hang_up()
        await settle(runtime)
    request = await the_request(runtime)
    assert "review" in request.flags.needs_follow_up
    assert await request_count(runtime) == 1


async def test_a_bad_signature_is_403_and_stores_nothing(runtime: Runtime) -> None:
    body = INCOMING.read_bytes()
    async with serve(runtime) as client:
        url = str(client.make_url(ROUTE))
        headers = twilio_headers(url, body, token="not_the_token")
        resp = await client.post(ROUTE, data=body, headers=headers)
        assert resp.status == 403
        async with runtime.engine.connect() as conn:
            assert list(await conn.execute(select(inbound_messages.c.id))) == []


def test_config_is_strict_and_names_the_wrong_key() -> None:
    problems = TwilioVoice.validate(
        {"auth_token_env": "TWILIO_AUTH_TOKEN", "operator_opens": "8am", "voice": "x"},
        env={"TWILIO_AUTH_TOKEN": "t"},
    )
    paths = sorted(p.path for p in problems)
    assert paths == ["channels.twilio_voice.operator_opens", "channels.twilio_voice.voice"]


async def test_the_catalogs_required_question_is_asked_on_the_keypad(
    tmp_path: Path, database_url: str, twilio: FakeTwilioApi, newport_gazetteer: Path
) -> None:
    catalog = (REPO_ROOT / "config" / "services.toml").read_text()
    asked = 'required = false\norder = 1\ndescriptions = { en = "How big is the pothole?"'
    assert asked in catalog
    services = tmp_path / "services.toml"
    services.write_text(catalog.replace(asked, asked.replace("false", "true")))
    overrides = {
        "gateway": {"catalog": str(services)},
        "connectors": {"folder": {"enabled": True, "path": str(tmp_path / "cases")}},
        "channels": {"twilio_voice": {"enabled": True}},
        "normalizer": {"gazetteer": str(newport_gazetteer)},
    }
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        await call.press("1")
        assert "Pothole" in said(await call.say("there is a huge pothole in the road"))
        question = await call.press("1")
        assert "How big is the pothole?" in said(question)
        assert "For Larger than a car tire, press 3." in said(question)
        assert gather(question).get("numDigits") == "1"
        assert "street address" in said(await call.press("3"))
        await to_tracking(call)
        await call.press("2")
        await settle(runtime)
    request = await the_request(runtime)
    assert request.service_code == "pothole"
    assert dict(request.attributes) == {"size": "large"}


async def test_a_transcript_stored_beside_its_unfiled_report_is_attached_next_round(
    runtime: Runtime,
) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        await to_place(call)
        await call.say("23 Warner Street")
        await call.press("1")
        await call.press("#")
        await call.hang_up()
        # The report and the transcript wait side by side for the same intake batch.
        await call.transcription()
        await settle(runtime)
    request = await the_request(runtime)
    assert "sidewalk is starting to ice up" in request.description
    assert "review" in request.flags.needs_follow_up


@pytest.mark.parametrize(
    "voice_options",
    [
        {
            "operator_number": DESK,
            "operator_days": list(DAYS),
            "operator_opens": "00:00",
            "operator_closes": "23:59",
        }
    ],
)
async def test_a_transfer_nobody_answers_goes_back_to_the_question(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        call = Call(client)
        await call.start()
        problem = await call.press("1")
        assert (await call.press("0")).find("Dial") is not None
        back = await call.post(
            call.action, form_of(INCOMING, CallStatus="in-progress", DialCallStatus="no-answer")
        )
        assert gather(back).get("hints") == gather(problem).get("hints")
        assert "Water leak" in said(await call.say_fixture())


async def test_the_text_copy_respects_an_earlier_stop(
    runtime: Runtime, twilio: FakeTwilioApi
) -> None:
    async with serve(runtime) as client:
        async with runtime.engine.begin() as conn:
            await contacts.opt_out(conn, "twilio_sms", CALLER, "stop")
        call = Call(client)
        await to_place(call)
        await to_tracking(call)
        await call.press("2")
        await settle(runtime)
    assert (await the_request(runtime)).reporter.phone == CALLER
    assert twilio.sent == []
