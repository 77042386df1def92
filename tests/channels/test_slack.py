"""Slack: every shared fixture signed as Slack signs (slack_sdk's own signature code) and
replayed through the real app and its bolt front over loopback, with the Web API a loopback
fake."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.runtime import Runtime
from tests.channels.conftest import inbound_rows
from tests.conftest import SHARED_FIXTURES
from tests.fakes.crm import FakeCrm
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi, slack_headers
from tests.support import folder_only, make_settings, merge, serve

FIXTURES = SHARED_FIXTURES / "slack"
CASES = sorted(
    p for p in FIXTURES.iterdir() if p.suffix in (".json", ".form") and ".payload." not in p.name
)
TEAM = "T07QK9W3NPT"
# What each fixture is stored as: its provider id and the parsed fields a test checks.
EXPECTED: dict[str, dict[str, Any]] = {
    "event_message_im": {
        "provider_id": f"{TEAM}:D07RX4M2K9Q:1760448902.145009",
        "sender": "U07BRN8Q3TZ",
        "auto_reply": "",
        "chat": {"conversation": "D07RX4M2K9Q", "thread": "1760448902.145009", "change": ""},
    },
    "event_app_mention": {
        "provider_id": f"{TEAM}:C07NBR3PRT1:1760447531.318269",
        "sender": "U07ALDX4K2M",
        "auto_reply": "",
        "chat": {"conversation": "C07NBR3PRT1", "thread": "1760447531.318269", "change": ""},
    },
    "event_message_im_with_file": {
        "provider_id": f"{TEAM}:D07RY8C5N1W:1760450118.402119",
        "sender": "U07CMW2P9HS",
        "auto_reply": "",
    },
    "event_message_changed": {
        "provider_id": f"{TEAM}:D07RX4M2K9Q:1760451041.004200",
        "sender": "U07BRN8Q3TZ",
        "auto_reply": "",
        "chat": {
            "conversation": "D07RX4M2K9Q",
            "parent_id": f"{TEAM}:D07RX4M2K9Q:1760451005.772809",
            "change": "edited",
        },
    },
    "event_bot_message": {
        # A channel's plain message keeps its event_id: it never takes a mention's place.
        "provider_id": "Ev07S1YZ6J1E",
        "auto_reply": "bot_message",
    },
    "slash_command": {
        "provider_id": "command:7890123456790.7254931882817.4c2e9b0f7d1a3e5c8b6a9d0f1e2c3b4a",
        "sender": "U07ALDX4K2M",
        "sender_name": "alda.f",
        "auto_reply": "",
    },
    "block_actions": {
        "provider_id": "action:7890123457012.7254931882817.9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
        "sender": "U07BRN8Q3TZ",
        "auto_reply": "",
        "chat": {"conversation": "D07RX4M2K9Q", "change": "choice", "tracking_number": "E5TR3K"},
    },
}


def route_of(case: Path) -> str:
    if case.suffix == ".json":
        return "/webhooks/slack/events"
    return (
        "/webhooks/slack/interactivity"
        if case.name.startswith("block_")
        else ("/webhooks/slack/commands")
    )


@pytest.fixture
async def slack_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    monkeypatch.setenv("SLACK_API_BASE_URL", await api.start())
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    yield api
    await api.close()


SLACK_ON = {
    "channels": {"slack": {"enabled": True}},
    "notifiers": {"slack": {"enabled": True}},
    "fetchers": {"slack_files": {"enabled": True, "hosts": ["127.0.0.1"], "max_bytes": 4096}},
}


@pytest.fixture
def channel_config(slack_api: FakeSlackApi) -> Mapping[str, Any]:
    return SLACK_ON


async def post(
    client: TestClient[Any, Any],
    path: str,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    **signing: Any,
) -> ClientResponse:
    """POST ``body`` to ``path`` signed as Slack signs it."""
    signed = slack_headers(body, json=path.endswith("/events"), **signing)
    return await client.post(path, data=body, headers={**signed, **(headers or {})})


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
async def test_replay_is_stored_once_and_acknowledged(runtime: Runtime, case: Path) -> None:
    body = case.read_bytes()
    async with serve(runtime) as client:
        first = await post(client, route_of(case), body)
        retry = await post(
            client,
            route_of(case),
            body,
            headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
        )
        assert (first.status, retry.status) == (200, 200)
        first_text, retry_text = await first.text(), await retry.text()
        rows = await inbound_rows(runtime)
    assert retry_text == first_text
    if case.name == "url_verification.json":
        # Answered with its challenge by bolt; there is no message to keep.
        assert json.loads(first_text) == {"challenge": json.loads(body)["challenge"]}
        assert rows == []
        return
    assert len(rows) == 1
    row = rows[0]
    assert row.raw_body == body and row.state == "received"
    expected = EXPECTED[case.stem]
    assert row.provider_id == expected["provider_id"]
    for key, value in expected.items():
        if key == "chat":
            assert {k: row.message["chat"][k] for k in value} == value
        elif key != "provider_id":
            assert row.message[key] == value


async def test_words_files_and_the_button_are_parsed(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        for name in ("event_app_mention.json", "event_message_im_with_file.json"):
            await post(client, "/webhooks/slack/events", (FIXTURES / name).read_bytes())
        form = (FIXTURES / "block_actions.form").read_bytes()
        await post(client, "/webhooks/slack/interactivity", form)
        rows = {r.provider_id: r.message for r in await inbound_rows(runtime)}
    mention = rows[EXPECTED["event_app_mention"]["provider_id"]]
    # The mention of the app is not part of the report.
    assert mention["text"].startswith("streetlight pole #2 in front of 12 Carey St")
    (photo,) = rows[EXPECTED["event_message_im_with_file"]["provider_id"]]["media"]
    assert photo["url"].endswith("/download/img_4411.jpg")
    assert (photo["content_type"], photo["size"]) == ("image/jpeg", 2481733)
    payload = json.loads((FIXTURES / "block_actions.payload.json").read_text())
    # The wire form holds exactly the documented payload.
    assert json.loads(dict(parse_qsl(form.decode()))["payload"]) == payload
    action = rows[EXPECTED["block_actions"]["provider_id"]]
    assert action["declared"]["service_code"] == payload["actions"][0]["value"].split(":")[1]


async def test_slash_command_is_acknowledged_with_its_tracking_number(runtime: Runtime) -> None:
    body = (FIXTURES / "slash_command.form").read_bytes()
    async with serve(runtime) as client:
        resp = await post(client, "/webhooks/slack/commands", body)
        answer = await resp.json()
    assert answer["response_type"] == "ephemeral"
    assert "Tracking number" in answer["text"]


@pytest.mark.parametrize("mistake", ["stale", "wrong_secret", "unsigned"])
async def test_bad_signature_is_refused_and_stores_nothing(runtime: Runtime, mistake: str) -> None:
    body = (FIXTURES / "event_message_im.json").read_bytes()
    async with serve(runtime) as client:
        if mistake == "unsigned":
            resp = await client.post(
                "/webhooks/slack/events", data=body, headers={"Content-Type": "application/json"}
            )
        else:
            signing: dict[str, Any] = (
                {"timestamp": int(time.time()) - 6 * 60}
                if mistake == "stale"
                else {"secret": "not-the-app-secret"}
            )
            resp = await post(client, "/webhooks/slack/events", body, **signing)
        assert resp.status in (401, 403)
        assert await inbound_rows(runtime) == []


async def test_malformed_is_400_with_a_reason_and_kept_for_staff(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        resp = await post(client, "/webhooks/slack/events", b'{"type": "event_callback", ')
        rows = await inbound_rows(runtime)
        assert resp.status == 400
        assert "is not JSON" in (await resp.json())["reason"]
        # Sending it again would not help: Slack is told not to retry.
        assert resp.headers["X-Slack-No-Retry"] == "1"
    assert [r.state for r in rows] == ["unparsed"]


async def test_oversize_is_413(tmp_path: Path, sqlite_url: str, slack_api: FakeSlackApi) -> None:
    overrides = merge(merge(folder_only(tmp_path), SLACK_ON), {"server": {"max_body_bytes": 2048}})
    runtime = Runtime(make_settings(tmp_path, sqlite_url, overrides))
    body = (FIXTURES / "event_message_im_with_file.json").read_bytes()
    assert len(body) > 2048
    async with serve(runtime) as client:
        resp = await post(client, "/webhooks/slack/events", body)
        assert resp.status == 413
        assert await inbound_rows(runtime) == []


async def test_ack_arrives_within_three_seconds_while_the_crm_hangs(
    tmp_path: Path, sqlite_url: str, slack_api: FakeSlackApi, crm: FakeCrm
) -> None:
    overrides = merge(
        SLACK_ON,
        {
            "connectors": {
                "folder": {"enabled": False},
                "open311": {
                    "enabled": True,
                    "endpoint": crm.open311_endpoint,
                    "api_key_env": "HOME",
                },
            },
            # No questions (nobody to ask them): the report is filed at once.
            "notifiers": {"slack": {"enabled": False}},
        },
    )
    runtime = Runtime(make_settings(tmp_path, sqlite_url, overrides))
    crm.hang_next(10, 30.0)
    body = (FIXTURES / "event_message_im.json").read_bytes()
    async with serve(runtime) as client:
        # The whole pipeline runs beside the request, its CRM call hanging.
        work = asyncio.create_task(runtime.work())
        try:
            await post(client, "/webhooks/slack/events", body)
            for _ in range(200):
                if crm.posts:
                    break
                await asyncio.sleep(0.05)
            assert crm.posts, "the CRM was never called"
            started = time.perf_counter()
            slash = (FIXTURES / "slash_command.form").read_bytes()
            resp = await post(client, "/webhooks/slack/commands", slash)
            elapsed = time.perf_counter() - started
        finally:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
    assert resp.status == 200
    assert elapsed < 3.0
    assert len(await inbound_rows(runtime)) == 2


async def test_bare_command_acks_in_time_even_when_the_form_cannot_open(
    runtime: Runtime, slack_api: FakeSlackApi
) -> None:
    form = dict(parse_qsl((FIXTURES / "slash_command.form").read_text(), True))
    bare = urlencode({**form, "text": ""}).encode()
    slack_api.hang = True
    async with serve(runtime) as client:
        started = time.perf_counter()
        resp = await post(client, "/webhooks/slack/commands", bare)
        elapsed = time.perf_counter() - started
        answer = await resp.json()
        rows = await inbound_rows(runtime)
    assert resp.status == 200 and elapsed < 3.0
    assert "/311" in answer["text"]  # how to report without the form
    # Stored before the attempt, kept as what it is: a request for the form, not a report.
    assert [r.message["auto_reply"] for r in rows] == ["opens the report form"]


async def test_a_payload_bolt_fails_on_is_kept_and_answered_never_a_500(runtime: Runtime) -> None:
    # Bolt reads ``view.type`` of every view_submission before any listener runs.
    submission = {
        "type": "view_submission",
        "user": {"id": "U07ALDX4K2M"},
        "trigger_id": "7890123459997.7254931882817.cccccccccccccccccccccccccccccccc",
        "view": {
            "id": "V0000003",
            "callback_id": "report_form",
            "state": {"values": {"description": {"description": {"value": "broken bench"}}}},
        },
    }
    body = urlencode({"payload": json.dumps(submission)}).encode()
    async with serve(runtime) as client:
        resp = await post(client, "/webhooks/slack/interactivity", body)
        rows = await inbound_rows(runtime)
    assert resp.status == 200
    assert [(r.provider_id, r.message["text"]) for r in rows] == [("view:V0000003", "broken bench")]
