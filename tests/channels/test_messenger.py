"""Messenger channel: Meta's verification GET, signed events (the fixtures under
``tests/fixtures/meta/``), a location attachment, postbacks, echoes skipped, dedupe by mid."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.channels.conftest import inbound_rows
from tests.support import serve

META = Path(__file__).resolve().parents[1] / "fixtures" / "meta"
APP_SECRET = "fixture_app_secret_not_real_0123"
VERIFY_TOKEN = "fixture-verify-token"
MESSAGES = sorted(META.glob("messenger_*.json"))
# How many messages each fixture holds for the gateway (echoes and receipts hold none).
HOLDS = {"messenger_echo_and_receipts": 0}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESSENGER_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("MESSENGER_VERIFY_TOKEN", VERIFY_TOKEN)


@pytest.fixture
def channel_config() -> Mapping[str, Any]:
    return {"channels": {"messenger": {"enabled": True, "page_id": "104372858712345"}}}


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


async def post(client: Any, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return await client.post("/webhooks/messenger", data=body, headers=headers or signed(body))


async def test_verification_echoes_the_challenge_only_for_our_token(runtime: Runtime) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    async with serve(runtime) as client:
        ok = await client.get("/webhooks/messenger", params=query)
        assert ok.status == 200
        assert await ok.text() == "1158201444"
        wrong = await client.get("/webhooks/messenger", params={**query, "hub.verify_token": "x"})
        assert wrong.status == 403
        odd = await client.get("/webhooks/messenger", params={"hub.mode": "unsubscribe"})
        assert odd.status == 400
        assert await inbound_rows(runtime) == []


@pytest.mark.parametrize("case", MESSAGES, ids=lambda p: p.stem)
async def test_signed_event_is_stored_once(runtime: Runtime, case: Path) -> None:
    body = case.read_bytes()
    async with serve(runtime) as client:
        first, retry = await post(client, body), await post(client, body)
        assert first.status == retry.status == 200
        rows = await inbound_rows(runtime)
    assert len(rows) == HOLDS.get(case.stem, 1)
    if rows:
        event = json.loads(body)["entry"][0]["messaging"][0]
        mid = (event.get("message") or event.get("postback"))["mid"]
        assert rows[0].provider_id == mid
        assert rows[0].message["sender"] == f"psid:{event['sender']['id']}"
        assert rows[0].raw_body == body


async def test_a_location_attachment_is_the_reports_place(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        assert (await post(client, (META / "messenger_location.json").read_bytes())).status == 200
        [row] = await inbound_rows(runtime)
    location = row.message["location"]
    assert (location["lat"], location["long"], location["source"]) == (
        41.4871,
        -71.3128,
        "provider",
    )


async def test_text_photo_and_postback_are_read(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        for name in ("messenger_text", "messenger_image", "messenger_postback"):
            assert (await post(client, (META / f"{name}.json").read_bytes())).status == 200
        rows = await inbound_rows(runtime)
    text, image, postback = (r.message for r in rows)
    assert text["text"].startswith("The streetlight at Thames St and Green St")
    assert image["media"][0]["url"].startswith("https://scontent.xx.fbcdn.net/")
    assert image["media"][0]["content_type"] == "image/jpeg"
    # A button's payload is what the resident said: here a STATUS command.
    assert postback["text"] == "STATUS"


async def test_bad_signature_is_403_and_stores_nothing(runtime: Runtime) -> None:
    body = (META / "messenger_text.json").read_bytes()
    async with serve(runtime) as client:
        wrong = await post(client, body, signed(body, secret="not-the-app-secret"))
        tampered = await post(client, body.replace(b"flickering", b"fine"), signed(body))
        missing = await post(client, body, {"Content-Type": "application/json"})
        for resp in (wrong, tampered, missing):
            assert resp.status == 403
        assert await inbound_rows(runtime) == []


async def test_malformed_is_400_with_a_reason(runtime: Runtime) -> None:
    bad = [
        b"{oops",
        json.dumps({"object": "instagram", "entry": []}).encode(),
        json.dumps(
            {"object": "page", "entry": [{"messaging": [{"message": {"text": "x"}}]}]}
        ).encode(),
    ]
    async with serve(runtime) as client:
        for body in bad:
            resp = await post(client, body)
            assert resp.status == 400
            assert (await resp.json())["reason"]
        rows = await inbound_rows(runtime)
    assert [r.state for r in rows] == ["unparsed"] * 3
