"""X and Messenger through the whole gateway: ``python -m gateway run`` as a child process with
both channels on, a signed X mention and a signed Messenger message posted to it, each ending as
a case file in ``var/cases/`` and a confirmation to its resident through the loopback APIs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from channels.x import sign
from tests.conftest import REPO_ROOT, SHARED_FIXTURES, TWILIO_TOKEN
from tests.fakes.meta_send_api import FakeSendApi
from tests.fakes.x_api import FakeXApi
from tests.support import write_config
from tests.system.process import Gateway, free_port

pytestmark = pytest.mark.timeout(180)

X = SHARED_FIXTURES / "x"
IDS = json.loads((X / "_ids.json").read_text())
META = REPO_ROOT / "tests" / "fixtures" / "meta"
APP_SECRET = "system_app_secret_not_real_0000"
PAGE_TOKEN = "system-page-token"
ENV = {
    "X_CONSUMER_SECRET": IDS["consumer_secret_for_tests"],
    "X_CONSUMER_KEY": "system-consumer-key",
    "X_ACCESS_TOKEN": "system-access-token",
    "X_ACCESS_TOKEN_SECRET": "system-access-secret",
    "MESSENGER_APP_SECRET": APP_SECRET,
    "MESSENGER_VERIFY_TOKEN": "system-verify-token",
    "MESSENGER_PAGE_TOKEN": PAGE_TOKEN,
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
}


@pytest.fixture
async def apis() -> AsyncIterator[tuple[FakeXApi, FakeSendApi]]:
    mentions = json.loads((X / "api_v2_mentions_page.json").read_text())
    dms = json.loads((X / "api_v2_dm_events_page.json").read_text())
    x_api, send_api = FakeXApi(mentions, dms), FakeSendApi(PAGE_TOKEN)
    await x_api.start()
    await send_api.start()
    yield x_api, send_api
    await x_api.close()
    await send_api.close()


def messenger_report() -> bytes:
    """A resident's message with its text and their shared location."""
    event = json.loads((META / "messenger_location.json").read_text())
    event["entry"][0]["messaging"][0]["message"]["text"] = "Deep pothole right here, tires popping"
    return json.dumps(event).encode()


async def test_a_signed_x_mention_and_messenger_message_become_cases_and_confirmations(
    tmp_path: Path, apis: tuple[FakeXApi, FakeSendApi]
) -> None:
    x_api, send_api = apis
    cases = tmp_path / "var" / "cases"
    write_config(
        tmp_path,
        {
            "outbox": {"poll_interval_seconds": 0.05},
            "smtp": {"enabled": False},
            "connectors": {"folder": {"enabled": True, "path": str(cases)}},
            "channels": {
                "x": {"enabled": True, "user_id": IDS["city_user_id"]},
                "messenger": {"enabled": True},
            },
            "notifiers": {
                "x": {"enabled": True},
                "messenger": {"enabled": True, "api_base_url": send_api.base_url},
            },
        },
    )
    port = free_port()
    gateway = Gateway(tmp_path, port, tmp_path / "gateway.db")
    gateway.env.update({**ENV, "X_API_BASE_URL": x_api.base_url})
    gateway.env.pop("X_BEARER_TOKEN", None)
    mention = (X / "account_activity_mention.json").read_bytes()
    message = messenger_report()
    digest = hmac.new(APP_SECRET.encode(), message, hashlib.sha256).hexdigest()
    base = f"http://127.0.0.1:{port}"
    try:
        await gateway.start()
        async with aiohttp.ClientSession() as session:
            x_headers = {
                "Content-Type": "application/json",
                "x-twitter-webhooks-signature": sign(ENV["X_CONSUMER_SECRET"], mention),
            }
            async with session.post(f"{base}/webhooks/x", data=mention, headers=x_headers) as r:
                assert r.status == 200, await r.text()
            meta_headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": f"sha256={digest}",
            }
            url = f"{base}/webhooks/messenger"
            async with session.post(url, data=message, headers=meta_headers) as r:
                assert r.status == 200, await r.text()
        await until(lambda: len(list(cases.glob("*.json"))) == 2 and x_api.posts and send_api.sent)
    finally:
        await gateway.stop()
    filed = {json.loads(p.read_text())["channel"]: p.stem for p in cases.glob("*.json")}
    assert set(filed) == {"x", "messenger"}
    [post] = x_api.posts
    assert post["reply"]["in_reply_to_tweet_id"] == "1978082874749878556"
    assert f"Tracking number {filed['x']}" in post["text"]
    [reply] = send_api.texts_to("6823107744112233")
    assert f"Tracking number {filed['messenger']}" in reply


async def until(done: Callable[[], object], seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.1)):
        if done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the cases and confirmations did not all arrive")
