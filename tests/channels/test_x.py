"""X channel (webhook mode): every shared fixture replayed, signed as X signs; the CRC with the
worked example; dedupe across the webhook and polled pages."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from channels import WebhookRequest
from channels.x import X as XChannel
from channels.x import XPage, sign
from gateway.runtime import Runtime
from tests.channels.conftest import inbound_rows
from tests.conftest import SHARED_FIXTURES
from tests.support import serve

X = SHARED_FIXTURES / "x"
IDS = json.loads((X / "_ids.json").read_text())
SECRET = IDS["consumer_secret_for_tests"]
CITY = IDS["city_user_id"]
MENTION = X / "account_activity_mention.json"
DM = X / "account_activity_dm.json"
MENTIONS_PAGE = X / "api_v2_mentions_page.json"
DM_PAGE = X / "api_v2_dm_events_page.json"
MENTIONS_URL = f"https://api.twitter.com/2/users/{CITY}/mentions?max_results=100"
DM_URL = "https://api.twitter.com/2/dm_events?event_types=MessageCreate"


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_CONSUMER_SECRET", SECRET)


@pytest.fixture
def channel_config() -> Mapping[str, Any]:
    return {"channels": {"x": {"enabled": True, "user_id": CITY, "handle": IDS["city_username"]}}}


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers X sends with an Account Activity POST."""
    return {
        "Content-Type": "application/json",
        "x-twitter-webhooks-signature": sign(secret, body),
    }


async def post(client: Any, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return await client.post("/webhooks/x", data=body, headers=headers or signed(body))


def worked_example() -> dict[str, str]:
    """The test values table of ``crc_challenge.md``: consumer secret, token, answer."""
    rows = re.findall(r"^\| (.+?) \| `(.+?)` \|$", (X / "crc_challenge.md").read_text(), re.M)
    return dict(rows)


def test_crc_answer_is_the_worked_example() -> None:
    example = worked_example()
    token, secret = example["`crc_token`"], example["consumer secret"]
    assert sign(secret, token.encode()) == example["expected `response_token`"]
    assert (token, secret) == (IDS["crc_token_example"], SECRET)


async def test_crc_get_is_answered_and_stores_nothing(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        resp = await client.get("/webhooks/x", params={"crc_token": IDS["crc_token_example"]})
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.json() == {"response_token": IDS["crc_response_token_expected"]}
        missing = await client.get("/webhooks/x")
        assert missing.status == 400
        assert (await missing.json())["error"] == "malformed_payload"
        assert await inbound_rows(runtime) == []


@pytest.mark.parametrize("case", sorted(X.glob("account_activity_*.json")), ids=lambda p: p.stem)
async def test_replay_is_stored_once(runtime: Runtime, case: Path) -> None:
    body = case.read_bytes()
    async with serve(runtime) as client:
        first = await post(client, body)
        retry = await post(client, body)
        assert first.status == retry.status == 200
        assert await first.json() == await retry.json()
        rows = await inbound_rows(runtime)
    assert len(rows) == 1
    assert rows[0].raw_body == body
    assert rows[0].state == "received"


async def test_mention_has_its_text_without_the_handle_its_point_and_photo(
    runtime: Runtime,
) -> None:
    async with serve(runtime) as client:
        assert (await post(client, MENTION.read_bytes())).status == 200
        [row] = await inbound_rows(runtime)
    message = row.message
    assert row.provider_id == "1978082874749878556"
    assert message["sender"] == "post:1312078845129621505"
    assert message["text"].startswith("the pothole in the SE corner of Spring St & Brewer St")
    assert "@NewportRI311" not in message["text"]
    assert "https://t.co/" not in message["text"]
    # GeoJSON coordinates are [long, lat].
    assert (message["location"]["lat"], message["location"]["long"]) == (41.483207, -71.312674)
    assert [m["url"] for m in message["media"]] == [
        "https://pbs.twimg.com/media/GZp7vQkXwAAr0Fx.jpg"
    ]
    assert message["extra"]["x_place"] == "Newport, RI"


async def test_legacy_geo_is_lat_long(runtime: Runtime) -> None:
    payload = json.loads(MENTION.read_text())
    tweet = payload["tweet_create_events"][0]
    # Only the deprecated v1.1 geo, whose coordinates are [lat, long].
    del tweet["coordinates"]
    tweet["geo"]["coordinates"] = [41.49, -71.31]
    body = json.dumps(payload).encode()
    async with serve(runtime) as client:
        assert (await post(client, body)).status == 200
        [row] = await inbound_rows(runtime)
    assert (row.message["location"]["lat"], row.message["location"]["long"]) == (41.49, -71.31)


async def test_a_city_wide_place_is_kept_for_staff_but_is_no_location(runtime: Runtime) -> None:
    payload = json.loads(MENTION.read_text())
    tweet = payload["tweet_create_events"][0]
    tweet["coordinates"] = tweet["geo"] = None
    body = json.dumps(payload).encode()
    async with serve(runtime) as client:
        assert (await post(client, body)).status == 200
        [row] = await inbound_rows(runtime)
    assert row.message["location"] is None
    assert row.message["extra"]["x_place"] == "Newport, RI"


async def test_dm_becomes_a_conversation_message(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        assert (await post(client, DM.read_bytes())).status == 200
        [row] = await inbound_rows(runtime)
    assert row.provider_id == "1978095243752374945"
    assert row.message["sender"] == "dm:1402259318843604993"
    assert row.message["text"].startswith("Hi, the streetlight on Caswell Ave, pole #6")
    assert row.message["sender_name"] == "Pat D."


def own(payload: dict[str, Any]) -> dict[str, Any]:
    """The same delivery as the city's account would cause by writing it itself."""
    mine = copy.deepcopy(payload)
    for event in mine.get("direct_message_events", []):
        event["message_create"]["sender_id"] = CITY
    for tweet in mine.get("tweet_create_events", []):
        tweet["user"]["id_str"] = CITY
    return mine


@pytest.mark.parametrize("case", [DM, MENTION], ids=lambda p: p.stem)
async def test_the_citys_own_dms_and_posts_are_skipped(runtime: Runtime, case: Path) -> None:
    body = json.dumps(own(json.loads(case.read_text()))).encode()
    async with serve(runtime) as client:
        resp = await post(client, body)
        assert resp.status == 200
        assert await resp.json() == {"received": []}
        assert await inbound_rows(runtime) == []


async def test_events_that_are_not_messages_are_acknowledged_and_not_stored(
    runtime: Runtime,
) -> None:
    like = json.dumps({"for_user_id": CITY, "favorite_events": [{"id": "1"}]}).encode()
    async with serve(runtime) as client:
        assert (await post(client, like)).status == 200
        assert await inbound_rows(runtime) == []


async def test_bad_signature_is_403_and_stores_nothing(runtime: Runtime) -> None:
    body = MENTION.read_bytes()
    async with serve(runtime) as client:
        wrong = await post(client, body, signed(body, secret="not-the-consumer-secret"))
        tampered = await post(client, body.replace(b"pothole", b"nothing"), signed(body))
        missing = await post(client, body, {"Content-Type": "application/json"})
        for resp in (wrong, tampered, missing):
            assert resp.status == 403
            assert (await resp.json())["error"] == "bad_signature"
        assert await inbound_rows(runtime) == []


async def test_malformed_is_400_with_a_reason_and_kept_for_staff(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        for body in (b"{not json", b'{"tweet_create_events": []}', b"[1, 2]"):
            resp = await post(client, body)
            assert resp.status == 400
            assert (await resp.json())["reason"]
        rows = await inbound_rows(runtime)
    assert [r.state for r in rows] == ["unparsed"] * 3


async def test_oversize_is_413(runtime: Runtime) -> None:
    body = b'{"for_user_id": "1", "pad": "' + b"x" * 2_000_000 + b'"}'
    async with serve(runtime) as client:
        resp = await post(client, body)
        assert resp.status == 413
        assert await inbound_rows(runtime) == []


async def test_a_dm_seen_by_webhook_and_by_polling_is_one_message(runtime: Runtime) -> None:
    page = WebhookRequest("GET", DM_URL, {"content-type": "application/json"}, DM_PAGE.read_bytes())
    async with serve(runtime) as client:
        assert (await post(client, DM.read_bytes())).status == 200
        channel = XPage({"user_id": CITY}, runtime.channels()[0].context)
        stored = await runtime.ingest.take(channel, page)
        rows = await inbound_rows(runtime)
    # The page's oldest DM is the webhook's; the city's own reply on it is skipped.
    assert [s.duplicate for s in stored] == [True, False]
    assert sorted(r.provider_id for r in rows) == ["1978095243752374945", "1978099891041206529"]


async def test_a_polled_mention_page_is_parsed_by_tweepy_and_the_mention_deduped(
    runtime: Runtime,
) -> None:
    payload = json.loads(MENTION.read_text())
    # The webhook's mention, as a page's post: the same id is the same report.
    spanish = json.loads(MENTIONS_PAGE.read_text())["data"][1]
    payload["tweet_create_events"][0]["id_str"] = spanish["id"]
    body = json.dumps(payload).encode()
    page = WebhookRequest("GET", MENTIONS_URL, {}, MENTIONS_PAGE.read_bytes())
    async with serve(runtime) as client:
        assert (await post(client, body)).status == 200
        channel = XPage({"user_id": CITY}, runtime.channels()[0].context)
        stored = await runtime.ingest.take(channel, page)
        rows = await inbound_rows(runtime)
    assert len(stored) == 4
    assert sum(s.duplicate for s in stored) == 1
    assert len(rows) == 4
    by_id = {r.provider_id: r.message for r in rows}
    graffiti = by_id["1978088528671670711"]
    assert (graffiti["location"]["lat"], graffiti["location"]["long"]) == (41.502192, -71.30361)
    assert graffiti["media"][0]["url"] == "https://pbs.twimg.com/media/GZqA2rNWcAAj9Lm.jpg"
    answer = by_id["1978091217220534505"]
    assert answer["text"].startswith("it's at the corner of Spring St and Memorial Blvd")
    assert answer["thread"]["references"] == ["1978084053349303281"]


def test_polling_needs_the_account_and_its_user_context() -> None:
    options = {"mode": "polling", "consumer_secret_env": "X_CONSUMER_SECRET"}
    env = {"X_CONSUMER_SECRET": SECRET}
    problems = {p.path: p.message for p in XChannel.validate(options, env)}
    assert problems["channels.x.user_id"] == "is required to poll"
    assert "X_ACCESS_TOKEN must be set to poll" in problems["channels.x.access_token_env"]
    webhook = XChannel.validate({**options, "mode": "webhook"}, env)
    assert webhook == []
    wrong = XChannel.validate({**options, "mode": "push"}, env)
    assert [p.path for p in wrong] == ["channels.x.mode"]


async def test_openapi_describes_the_crc_get_apart_from_the_post(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        spec = await (await client.get("/openapi.json")).json()
    route = spec["paths"]["/webhooks/x"]
    assert "requestBody" not in route["get"] and "CRC" in route["get"]["summary"]
    assert "application/json" in route["post"]["requestBody"]["content"]
