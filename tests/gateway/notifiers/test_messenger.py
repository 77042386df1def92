"""The messenger notifier against the loopback Send API, and Meta's 24-hour window as the outbox
applies it: a status change past the window is kept for staff, not sent."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.errors import OutsideReplyWindow, PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers.messenger import MessengerNotifier
from gateway.outbox.replies import enqueue_reply
from gateway.outbox.worker import OutboxWorker
from gateway.records import Notification, Status
from gateway.runtime import Runtime
from gateway.store import requests
from gateway.store.schema import outbox
from tests.fakes.meta_send_api import FakeSendApi
from tests.support import folder_only, make_settings, serve

TOKEN = "fixture-page-token"
APP_SECRET = "fixture_app_secret_not_real_0123"
TEXT = Path(__file__).resolve().parents[2] / "fixtures" / "meta" / "messenger_text.json"
PSID = "6823107744112233"


@pytest.fixture
async def send_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSendApi]:
    api = FakeSendApi(TOKEN)
    await api.start()
    monkeypatch.setenv("MESSENGER_PAGE_TOKEN", TOKEN)
    monkeypatch.setenv("MESSENGER_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("MESSENGER_VERIFY_TOKEN", "verify")
    yield api
    await api.close()


def note(to: str = f"psid:{PSID}", body: str = "Report 4W3K74 is now resolved.") -> Notification:
    return Notification("messenger", to, body, "status", request_id="r1")


async def test_a_reply_is_a_response_in_the_residents_conversation(send_api: FakeSendApi) -> None:
    notifier = MessengerNotifier(
        {"page_token_env": "MESSENGER_PAGE_TOKEN", "api_base_url": send_api.base_url}
    )
    try:
        sent = await notifier.send(note(), "k")
    finally:
        await notifier.close()
    [body] = send_api.sent
    assert body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Report 4W3K74 is now resolved."},
    }
    assert sent == "m_fake1"


async def test_meta_refusals_are_told_apart(
    send_api: FakeSendApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifier = MessengerNotifier(
        {"page_token_env": "MESSENGER_PAGE_TOKEN", "api_base_url": send_api.base_url}
    )
    try:
        send_api.closed.add(PSID)
        with pytest.raises(OutsideReplyWindow, match="outside of allowed window"):
            await notifier.send(note(), "k1")
        send_api.down = True
        with pytest.raises(TransientDeliveryError):
            await notifier.send(note(), "k2")
        send_api.down = False
        monkeypatch.setenv("MESSENGER_PAGE_TOKEN", "wrong")
        with pytest.raises(PermanentDeliveryError, match="code 190") as refused:
            await notifier.send(note(to="psid:1"), "k3")
        assert "wrong" not in str(refused.value)
        with pytest.raises(PermanentDeliveryError, match="not a Messenger address"):
            await notifier.send(note(to="+14015550142"), "k4")
    finally:
        await notifier.close()


async def test_a_status_change_past_the_24_hour_window_is_kept_for_staff_not_sent(
    tmp_path: Path, sqlite_url: str, send_api: FakeSendApi
) -> None:
    overrides = {
        **folder_only(tmp_path),
        "channels": {"messenger": {"enabled": True}},
        "notifiers": {"messenger": {"enabled": True, "api_base_url": send_api.base_url}},
    }
    runtime = Runtime(make_settings(tmp_path, sqlite_url, overrides))
    body = TEXT.read_bytes()
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
    async with serve(runtime) as client:
        assert (await client.post("/webhooks/messenger", data=body, headers=headers)).status == 200
        await runtime.intake_worker().run_once()
        await runtime.outbox_worker().run_once()
        # Within the window: the first answer (here "where is it?": no gazetteer) went out.
        assert send_api.texts_to(PSID) == [runtime.settings.message("ask_location")]
        async with runtime.engine.begin() as conn:
            [request_id] = [j.request_id for j in await conn.execute(select(outbox))][:1]
            request = await requests.get_request(conn, request_id)
            assert request is not None
            for key in ("later", "much-later"):
                await enqueue_reply(
                    conn, runtime.settings, request, "status", "status_changed", key=key,
                    status=Status.CLOSED.value, note="",
                )  # fmt: skip
        later = datetime.now(UTC) + timedelta(hours=25)
        worker = OutboxWorker(
            runtime.engine, {}, runtime.settings.outbox, notifiers=runtime.notifiers(),
            clock=lambda: later,
        )  # fmt: skip
        await worker.run_once()
        async with runtime.engine.connect() as conn:
            jobs = [j for j in await conn.execute(select(outbox)) if "status" in j.idempotency_key]
    # Not sent, dead with the reason for staff; the lane itself is not broken by it.
    assert len(send_api.texts_to(PSID)) == 1
    assert [j.state for j in jobs] == ["dead", "dead"]
    assert all("24 hours" in j.last_error and "kept for staff" in j.last_error for j in jobs)
    assert worker.breakers[("notify", "messenger")].allow()


async def test_a_shared_location_answers_where_is_it_and_completes_the_report(
    tmp_path: Path, sqlite_url: str, send_api: FakeSendApi
) -> None:
    overrides = {
        **folder_only(tmp_path),
        "channels": {"messenger": {"enabled": True}},
        "notifiers": {"messenger": {"enabled": True, "api_base_url": send_api.base_url}},
    }
    runtime = Runtime(make_settings(tmp_path, sqlite_url, overrides))
    async with serve(runtime) as client:
        for name in ("messenger_text.json", "messenger_location.json"):
            body = (TEXT.parent / name).read_bytes()
            digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": f"sha256={digest}",
            }
            assert (
                await client.post("/webhooks/messenger", data=body, headers=headers)
            ).status == 200
            await runtime.intake_worker().run_once()
            await runtime.outbox_worker().run_once()
        async with runtime.engine.connect() as conn:
            [job] = [j for j in await conn.execute(select(outbox)) if j.kind == "deliver"]
            request = await requests.get_request(conn, job.request_id)
    question, completed = send_api.texts_to(PSID)
    assert question == runtime.settings.message("ask_location")
    assert completed.startswith("Got it, thanks. Report")
    assert request is not None and request.location is not None
    assert (request.location.lat, request.location.long) == (41.4871, -71.3128)
    assert list((tmp_path / "cases").glob("*.json"))
