"""Whole Slack conversations: a resident writes to the app, the gateway answers in the thread.

Requests are signed with slack_sdk's signature code and posted to the real app over loopback;
replies, views.open and file downloads go through slack_sdk's ``AsyncWebClient`` to a loopback
fake of the Web API; the city's case system is the loopback GeoReport v2 CRM; the gazetteer is
built from the Newport history, as in the SMS conversations.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from gateway.outbox.sync import StatusSync
from gateway.records import ServiceRequest, Status
from gateway.runtime import Runtime
from gateway.store import requests
from gateway.store.schema import service_requests
from tests.conftest import SHARED_FIXTURES
from tests.fakes.crm import FakeCrm
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi, slack_headers
from tests.gateway.outbox.conftest import fast_settings
from tests.support import make_settings, serve

FIXTURES = SHARED_FIXTURES / "slack"
TEAM = "T07QK9W3NPT"
RESIDENT = "U07BRN8Q3TZ"
DM = "D07RX4M2K9Q"


@pytest.fixture
async def slack(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    monkeypatch.setenv("SLACK_API_BASE_URL", await api.start())
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    yield api
    await api.close()


@pytest.fixture
async def runtime(
    tmp_path: Path, database_url: str, slack: FakeSlackApi, crm: FakeCrm, newport_gazetteer: Path
) -> Runtime:
    overrides = {
        "connectors": {
            "folder": {"enabled": False},
            "open311": {"enabled": True, "endpoint": crm.open311_endpoint, "api_key_env": "HOME"},
        },
        "channels": {"slack": {"enabled": True}},
        "notifiers": {"slack": {"enabled": True}},
        "fetchers": {"slack_files": {"enabled": True, "hosts": ["127.0.0.1"], "max_bytes": 4096}},
        "normalizer": {"gazetteer": str(newport_gazetteer)},
    }
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    runtime.settings = dataclasses.replace(runtime.settings, outbox=fast_settings())
    return runtime


def event(name: str, **changes: Any) -> bytes:
    """A shared event fixture with some of its inner event's fields changed."""
    body = json.loads((FIXTURES / name).read_text())
    body["event"].update(changes)
    return json.dumps(body).encode()


def interaction(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


async def send(
    client: TestClient[Any, Any], runtime: Runtime, path: str, body: bytes
) -> dict[str, Any] | str:
    """Post one signed request, then let the pipeline and the outbox do their work."""
    headers = slack_headers(body, json=path.endswith("/events"))
    resp = await client.post(path, data=body, headers=headers)
    assert resp.status == 200, await resp.text()
    text = await resp.text()
    await settle(runtime)
    return json.loads(text) if text.startswith("{") else text


async def settle(runtime: Runtime) -> None:
    await runtime.intake_worker().run_once()
    worker = runtime.outbox_worker()
    while await worker.run_once():
        pass


async def request_of(runtime: Runtime, message_id: str) -> ServiceRequest:
    async with runtime.engine.connect() as conn:
        query = select(service_requests.c.id).where(
            service_requests.c.channel_message_id == message_id
        )
        request_id = (await conn.execute(query)).scalar_one()
        found = await requests.get_request(conn, request_id)
    assert found is not None
    return found


async def kinds(runtime: Runtime, request_id: str) -> list[str]:
    async with runtime.engine.connect() as conn:
        return [e["kind"] for e in await requests.events(conn, request_id)]


IM_TS = "1760448902.145009"
IM_ID = f"{TEAM}:{DM}:{IM_TS}"


async def test_dm_is_confirmed_in_its_thread_and_a_status_change_follows_there(
    runtime: Runtime, slack: FakeSlackApi, crm: FakeCrm
) -> None:
    async with serve(runtime) as client:
        await send(client, runtime, "/webhooks/slack/events", event("event_message_im.json"))
        filed = await request_of(runtime, IM_ID)
        assert filed.status is Status.SUBMITTED and filed.case_id in crm.cases
        assert filed.service_code == "trash_missed"
        (confirmation,) = slack.posted
        assert (confirmation["channel"], confirmation["thread_ts"]) == (DM, IM_TS)
        assert f"Tracking number {filed.tracking_number}" in confirmation["text"]

        crm.set_status(str(filed.case_id), "closed", "Picked up today")
        await StatusSync(runtime.engine, runtime.connectors(), runtime.settings).run_once()
        await settle(runtime)
    told = slack.posted[-1]
    assert (told["channel"], told["thread_ts"]) == (DM, IM_TS)
    assert told["text"] == (
        f"City of Example 311: report {filed.tracking_number} is now resolved. Picked up today"
    )


async def test_status_command_is_answered_in_the_thread_it_was_asked_in(
    runtime: Runtime, slack: FakeSlackApi
) -> None:
    async with serve(runtime) as client:
        await send(client, runtime, "/webhooks/slack/events", event("event_message_im.json"))
        number = (await request_of(runtime, IM_ID)).tracking_number
        asked = event("event_message_im.json", text=f"status {number}", ts="1760449000.000100")
        await send(client, runtime, "/webhooks/slack/events", asked)
    answer = slack.posted[-1]
    assert (answer["channel"], answer["thread_ts"]) == (DM, "1760449000.000100")
    assert answer["text"] == f"Report {number}: with the city."


SPANISH = (
    "Hola, hay un sofá y bolsas de basura en la acera frente al 10 de Hammond St desde hace "
    "una semana. No lo recogieron el lunes. ¿Pueden mandar a alguien? Gracias"
)


async def test_unsure_service_offers_three_buttons_and_the_choice_files_the_request(
    runtime: Runtime, slack: FakeSlackApi, crm: FakeCrm
) -> None:
    async with serve(runtime) as client:
        await send(
            client, runtime, "/webhooks/slack/events", event("event_message_im.json", text=SPANISH)
        )
        held = await request_of(runtime, IM_ID)
        assert held.status is Status.AWAITING_INFO and crm.cases == {}
        question = next(p for p in slack.posted if p.get("blocks"))
        assert question["thread_ts"] == IM_TS
        assert question["text"].startswith("¿Cuál es? Responda con un número: 1 ")
        buttons = question["blocks"][1]["elements"]
        assert 2 <= len(buttons) <= 3
        assert all(b["value"].startswith(f"{held.tracking_number}:") for b in buttons)

        # The resident presses the second button: the shared payload, with that button in it.
        payload = json.loads((FIXTURES / "block_actions.payload.json").read_text())
        payload["actions"] = [{**buttons[1], "block_id": "category_choice", "action_ts": "1.2"}]
        assert (
            await send(client, runtime, "/webhooks/slack/interactivity", interaction(payload)) == ""
        )
    filed = await request_of(runtime, IM_ID)
    chosen = buttons[1]["value"].split(":")[1]
    assert filed.service_code == chosen and filed.service_confidence == 1.0
    assert filed.status is Status.SUBMITTED and filed.case_id in crm.cases
    done = slack.posted[-1]
    assert done["thread_ts"] == IM_TS
    assert done["text"] == (
        f"Recibido, gracias. El reporte {filed.tracking_number} va en camino a la ciudad."
    )


async def test_bare_slash_command_opens_the_form_and_its_submission_is_a_report(
    runtime: Runtime, slack: FakeSlackApi, crm: FakeCrm
) -> None:
    form = dict(parse_qsl((FIXTURES / "slash_command.form").read_text(), True))
    bare = urlencode({**form, "text": ""}).encode()
    async with serve(runtime) as client:
        assert await send(client, runtime, "/webhooks/slack/commands", bare) == ""
        (opened,) = slack.views
        assert opened["trigger_id"] == form["trigger_id"]
        view = opened["view"]
        menu = view["blocks"][0]["element"]["options"]
        assert {
            "text": {"type": "plain_text", "text": "Pothole", "emoji": True},
            "value": "pothole",
        } in menu
        # What Slack sends when the resident fills the form in and presses Send.
        values = {
            "service": {"service": {"type": "static_select", "selected_option": menu[0]}},
            "description": {"description": {"type": "plain_text_input", "value": "deep pothole"}},
            "address": {
                "address": {"type": "plain_text_input", "value": "Bellevue Ave and Perry St"}
            },
            "photo": {"photo": {"type": "file_input", "files": []}},
            "anonymous": {"anonymous": {"type": "checkboxes", "selected_options": []}},
        }
        submission = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "newportneighbors"},
            "user": {"id": form["user_id"], "username": form["user_name"], "team_id": TEAM},
            "api_app_id": form["api_app_id"],
            "trigger_id": "7890123459999.7254931882817.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "view": {**view, "id": "V0000001", "state": {"values": values}},
        }
        await send(client, runtime, "/webhooks/slack/interactivity", interaction(submission))
    filed = await request_of(runtime, "view:V0000001")
    assert filed.service_code == menu[0]["value"] and filed.description == "deep pothole"
    assert filed.location is not None and filed.location.address == "Bellevue Ave and Perry St"
    assert filed.case_id in crm.cases
    # The form's report is answered by DM: posted to the resident's own user id, no thread.
    (confirmation,) = slack.posted
    assert confirmation["channel"] == form["user_id"] and "thread_ts" not in confirmation
    assert f"Tracking number {filed.tracking_number}" in confirmation["text"]


async def test_edit_of_an_open_report_updates_it_and_a_deletion_is_noted(
    runtime: Runtime, slack: FakeSlackApi, crm: FakeCrm
) -> None:
    changed = json.loads((FIXTURES / "event_message_changed.json").read_text())
    before = changed["event"]["previous_message"]
    original = event(
        "event_message_im.json", text=before["text"], ts=before["ts"], event_ts=before["ts"]
    )
    first_id = f"{TEAM}:{DM}:{before['ts']}"
    async with serve(runtime) as client:
        await send(client, runtime, "/webhooks/slack/events", original)
        held = await request_of(runtime, first_id)
        assert held.status is Status.AWAITING_INFO  # "where is it?"
        assert slack.texts_in(DM)[-1].startswith("Where is it?")
        edit = (FIXTURES / "event_message_changed.json").read_bytes()
        await send(client, runtime, "/webhooks/slack/events", edit)
        edited = await request_of(runtime, first_id)
        assert edited.description == changed["event"]["message"]["text"]
        assert edited.location is not None and edited.location.lat is not None
        assert edited.status is Status.SUBMITTED and edited.case_id in crm.cases

        deleted = event(
            "event_message_im.json",
            subtype="message_deleted",
            ts="1760452000.000200",
            deleted_ts=before["ts"],
            previous_message=before,
        )
        await send(client, runtime, "/webhooks/slack/events", deleted)
    history = await kinds(runtime, held.id)
    assert "resident_edited" in history and history[-1] == "resident_deleted"


JPEG = b"\xff\xd8\xff\xe0" + b"graffiti photo" * 10


async def test_attached_file_is_fetched_with_the_bot_token(
    runtime: Runtime, slack: FakeSlackApi
) -> None:
    slack.files = {"F07SA1GR4F1": ("image/jpeg", JPEG)}
    body = (FIXTURES / "event_message_im_with_file.json").read_bytes()
    async with serve(runtime) as client:
        await send(client, runtime, "/webhooks/slack/events", body)
    filed = await request_of(runtime, f"{TEAM}:D07RY8C5N1W:1760450118.402119")
    (photo,) = filed.media
    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert photo.path is not None and Path(photo.path).read_bytes() == JPEG
    assert slack.file_requests == ["/files-pri/T07QK9W3NPT-F07SA1GR4F1/download/F07SA1GR4F1.bin"]


async def test_bot_posts_are_kept_and_never_answered(
    runtime: Runtime, slack: FakeSlackApi, crm: FakeCrm
) -> None:
    body = (FIXTURES / "event_bot_message.json").read_bytes()
    own = event("event_message_im.json", bot_id="B07R3BT311A", text="status E5TR3K")
    async with serve(runtime) as client:
        await send(client, runtime, "/webhooks/slack/events", body)
        await send(client, runtime, "/webhooks/slack/events", own)
        async with runtime.engine.connect() as conn:
            made = (await conn.execute(select(service_requests.c.id))).all()
    assert made == [] and slack.posted == [] and crm.posts == 0


async def test_a_mention_in_the_reports_thread_joins_its_history(
    runtime: Runtime, slack: FakeSlackApi
) -> None:
    mention_ts = "1760447531.318269"
    async with serve(runtime) as client:
        await send(client, runtime, "/webhooks/slack/events", event("event_app_mention.json"))
        first = await request_of(runtime, f"{TEAM}:C07NBR3PRT1:{mention_ts}")
        assert slack.posted[0]["thread_ts"] == mention_ts
        later = event(
            "event_app_mention.json",
            text="<@U07R3BT311A> it is out again tonight",
            ts="1760448000.000300",
            thread_ts=mention_ts,
        )
        await send(client, runtime, "/webhooks/slack/events", later)
    assert (await kinds(runtime, first.id))[-1] == "resident_update"
    async with runtime.engine.connect() as conn:
        assert len((await conn.execute(select(service_requests.c.id))).all()) == 1


async def test_an_emergency_dm_is_told_to_call_911_in_its_thread(
    runtime: Runtime, slack: FakeSlackApi
) -> None:
    gas = event("event_message_im.json", text="I smell gas, strong gas leak outside 15 East St")
    async with serve(runtime) as client:
        await send(client, runtime, "/webhooks/slack/events", gas)
    filed = await request_of(runtime, IM_ID)
    assert filed.flags.emergency
    told = [p["text"] for p in slack.posted if p.get("thread_ts") == IM_TS]
    assert "If anyone is in danger, call 911 now." in told
    assert any(f"Tracking number {filed.tracking_number}" in t for t in told)


async def test_an_anonymous_form_with_a_photo_is_filed_and_nobody_is_written_to(
    runtime: Runtime, slack: FakeSlackApi, crm: FakeCrm
) -> None:
    slack.files = {"F07SA1GR4F1": ("image/jpeg", JPEG)}
    photo = json.loads((FIXTURES / "event_message_im_with_file.json").read_text())["event"][
        "files"
    ][0]
    values = {
        "service": {"service": {"selected_option": {"value": "graffiti"}}},
        "description": {"description": {"value": "tags on the wall"}},
        "address": {"address": {"value": "Spring St & Narragansett Ave"}},
        "photo": {"photo": {"type": "file_input", "files": [photo]}},
        "anonymous": {"anonymous": {"selected_options": [{"value": "anonymous"}]}},
    }
    submission = {
        "type": "view_submission",
        "user": {"id": "U07CMW2P9HS"},
        "trigger_id": "7890123459998.7254931882817.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "view": {
            "id": "V0000002",
            "type": "modal",
            "callback_id": "report_form",
            "state": {"values": values},
        },
    }
    async with serve(runtime) as client:
        await send(client, runtime, "/webhooks/slack/interactivity", interaction(submission))
    filed = await request_of(runtime, "view:V0000002")
    assert filed.reporter.anonymous and filed.reporter.address is None
    assert filed.service_code == "graffiti" and filed.case_id in crm.cases
    assert filed.media[0].sha256 == hashlib.sha256(JPEG).hexdigest()
    assert slack.posted == []
