"""Twilio Messaging webhook: every shared fixture replayed, signed with the SDK's own signer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from gateway.runtime import Runtime
from gateway.store.schema import inbound_messages
from gateway.tracking import ALPHABET
from tests.channels.conftest import inbound_rows
from tests.conftest import SHARED_FIXTURES
from tests.support import FORM, folder_only, make_settings, post_twilio, serve, twilio_headers

MESSAGING = sorted(
    p
    for pattern in ("sms_*.form", "mms_*.form", "whatsapp_*.form")
    for p in (SHARED_FIXTURES / "twilio").glob(pattern)
)
SMS = SHARED_FIXTURES / "twilio" / "sms_inbound.form"
# What the TwiML answer says at once; None: nothing (Twilio confirms STOP itself, and STATUS is
# answered through the outbox). Every other message gets its receipt with a tracking number.
ANSWERS: dict[str, str | None] = {
    "sms_stop": None,
    "sms_status_query": None,
    "sms_help": "STOP to end messages",
    "sms_gas_emergency": "call 911 now",
    "sms_spanish": "Número de seguimiento",
    "whatsapp_text": "Número de seguimiento",
}


def fields(path: Path) -> dict[str, str]:
    return dict(parse_qsl(path.read_text(), keep_blank_values=True))


@pytest.mark.parametrize("case", MESSAGING, ids=lambda p: p.stem)
async def test_replay_is_stored_once_and_answered_with_twiml(runtime: Runtime, case: Path) -> None:
    body = case.read_bytes()
    async with serve(runtime) as client:
        first = await post_twilio(client, body)
        retry = await post_twilio(client, body)
        assert first.status == 200
        assert first.content_type == "text/xml"
        first_text, retry_text = await first.text(), await retry.text()
        rows = await inbound_rows(runtime)
    # A retried webhook gets the same answer and is stored once.
    assert retry_text == first_text
    assert len(rows) == 1
    form = fields(case)
    assert rows[0].provider_id == form["MessageSid"]
    assert rows[0].raw_body == body
    assert rows[0].state == "received"
    assert rows[0].message["sender"] == form["From"]
    assert rows[0].message["text"] == form.get("Body", "")
    assert first_text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response')
    expected = ANSWERS.get(case.stem, "Tracking number")
    if expected is None:
        assert "<Message>" not in first_text
    else:
        assert expected in first_text


async def test_confirmation_carries_a_readable_tracking_number(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        text = await (await post_twilio(client, SMS.read_bytes())).text()
    number = text.split("Tracking number ")[1].split(".")[0]
    assert len(number) == 6
    assert set(number) <= set(ALPHABET)


async def test_mms_media_and_whatsapp_pin_are_parsed(runtime: Runtime) -> None:
    mms = SHARED_FIXTURES / "twilio" / "mms_two_photos.form"
    pin = SHARED_FIXTURES / "twilio" / "whatsapp_location.form"
    async with serve(runtime) as client:
        for case in (mms, pin):
            assert (await post_twilio(client, case.read_bytes())).status == 200
        rows = {r.provider_id: r.message for r in await inbound_rows(runtime)}
    photos = rows[fields(mms)["MessageSid"]]["media"]
    assert [m["url"] for m in photos] == [fields(mms)["MediaUrl0"], fields(mms)["MediaUrl1"]]
    assert photos[0]["content_type"] == fields(mms)["MediaContentType0"]
    location = rows[fields(pin)["MessageSid"]]["location"]
    assert (location["lat"], location["long"]) == (41.481604, -71.312113)
    assert location["source"] == "provider"


async def test_bad_signature_is_403_and_stores_nothing(runtime: Runtime) -> None:
    body = SMS.read_bytes()
    async with serve(runtime) as client:
        url = str(client.make_url("/webhooks/twilio/sms"))
        headers = twilio_headers(url, body, token="not-the-city-token")
        resp = await client.post("/webhooks/twilio/sms", data=body, headers=headers)
        missing = await client.post(
            "/webhooks/twilio/sms", data=body, headers={"Content-Type": FORM}
        )
        assert resp.status == 403
        assert (await resp.json())["error"] == "bad_signature"
        assert missing.status == 403
        assert await inbound_rows(runtime) == []


async def test_signature_over_a_tampered_body_is_403(runtime: Runtime) -> None:
    body = SMS.read_bytes()
    async with serve(runtime) as client:
        headers = twilio_headers(str(client.make_url("/webhooks/twilio/sms")), body)
        tampered = body.replace(b"pothole", b"nothing")
        resp = await client.post("/webhooks/twilio/sms", data=tampered, headers=headers)
        assert resp.status == 403
        assert await inbound_rows(runtime) == []


async def test_oversize_body_is_413(tmp_path: Path, sqlite_url: str) -> None:
    overrides = {**folder_only(tmp_path), "server": {"max_body_bytes": 2048}}
    runtime = Runtime(make_settings(tmp_path, sqlite_url, overrides))
    body = SMS.read_bytes() + b"&Pad=" + b"x" * 4096
    async with serve(runtime) as client:
        resp = await post_twilio(client, body)
        assert resp.status == 413
        assert (await resp.json())["error"] == "payload_too_large"
        assert await inbound_rows(runtime) == []


async def test_wrong_content_type_is_415(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        resp = await client.post(
            "/webhooks/twilio/sms",
            data=b'{"Body": "hi"}',
            headers={"Content-Type": "application/json"},
        )
        assert resp.status == 415
        assert "Content-Type" in (await resp.json())["reason"]


async def test_malformed_payload_is_400_with_reason_and_kept_raw(runtime: Runtime) -> None:
    body = b"From=%2B14015550142&Body=no+sid+here"
    async with serve(runtime) as client:
        resp = await post_twilio(client, body)
        again = await post_twilio(client, body)
        assert resp.status == 400
        assert again.status == 400
        payload = await resp.json()
        rows = await inbound_rows(runtime)
    assert payload == {"error": "malformed_payload", "reason": "MessageSid is missing"}
    # Stored raw and flagged for staff, once however often the provider retries.
    assert len(rows) == 1
    assert rows[0].state == "unparsed"
    assert rows[0].raw_body == body
    assert rows[0].error == "MessageSid is missing"


async def test_public_url_is_rebuilt_from_a_trusted_proxy(tmp_path: Path, sqlite_url: str) -> None:
    overrides = {**folder_only(tmp_path), "server": {"trust_proxy": True}}
    runtime = Runtime(make_settings(tmp_path, sqlite_url, overrides))
    body = SMS.read_bytes()
    public = "https://311.example.gov/webhooks/twilio/sms"
    headers = {**twilio_headers(public, body), "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "311.example.gov"}  # fmt: skip
    async with serve(runtime) as client:
        resp = await client.post("/webhooks/twilio/sms", data=body, headers=headers)
        assert resp.status == 200


async def test_forwarded_headers_are_ignored_without_trust(runtime: Runtime) -> None:
    body = SMS.read_bytes()
    public = "https://311.example.gov/webhooks/twilio/sms"
    headers = {**twilio_headers(public, body), "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "311.example.gov"}  # fmt: skip
    async with serve(runtime) as client:
        resp = await client.post("/webhooks/twilio/sms", data=body, headers=headers)
        assert resp.status == 403
        async with runtime.engine.connect() as conn:
            count = (
                await conn.execute(select(func.count()).select_from(inbound_messages))
            ).scalar()
        assert count == 0


async def test_signature_over_the_url_without_its_port_is_accepted(runtime: Runtime) -> None:
    # Twilio's signing of ports is inconsistent; the SDK accepts both forms, and so do we.
    body = SMS.read_bytes()
    async with serve(runtime) as client:
        url = str(client.make_url("/webhooks/twilio/sms"))
        portless = url.replace(f":{client.port}", "")
        resp = await client.post(
            "/webhooks/twilio/sms", data=body, headers=twilio_headers(portless, body)
        )
        assert resp.status == 200
        assert len(await inbound_rows(runtime)) == 1
