"""Slack against ``python -m gateway run``: a signed DM ends as a case file and a threaded reply.

The gateway runs as a real process, as ``make run`` starts it (SQLite, the folder connector
writing ``var/cases/``), with the Slack channel and notifier enabled by the test's config and
the Web API a loopback fake in this process (``SLACK_API_BASE_URL``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import SHARED_FIXTURES
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi, slack_headers
from tests.support import write_config
from tests.system.process import Gateway, free_port

pytestmark = pytest.mark.timeout(120)

DM = SHARED_FIXTURES / "slack" / "event_message_im.json"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    await api.start()
    yield api
    await api.close()


async def test_signed_dm_becomes_a_case_file_and_a_threaded_confirmation(
    tmp_path: Path, newport_gazetteer: Path, slack: FakeSlackApi
) -> None:
    # The city's streets, as README's "Teach it your city" builds them: with the Slack notifier
    # on, a report without a place would be asked "where is it?" rather than filed.
    write_config(
        tmp_path,
        {
            "outbox": {"poll_interval_seconds": 0.05},
            "smtp": {"enabled": False},
            "channels": {"slack": {"enabled": True}},
            "notifiers": {"slack": {"enabled": True}},
            "normalizer": {"gazetteer": str(newport_gazetteer)},
        },
    )
    port = free_port()
    gateway = Gateway(tmp_path, port, tmp_path / "var" / "gateway.db")
    gateway.env |= {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_BASE_URL": f"{slack.base_url}/api/",
    }
    body = DM.read_bytes()
    try:
        await gateway.start()
        # Signed as the README's demo signs it: ``gateway slack-sign FILE``.
        signer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            "slack-sign",
            str(DM),
            env=gateway.env,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await signer.communicate()
        timestamp, signature = out.decode().split()
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        # The signature is slack_sdk's own, as the test helper makes it.
        assert signature == slack_headers(body, timestamp=int(timestamp))["X-Slack-Signature"]
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/webhooks/slack/events"
            async with session.post(url, data=body, headers=headers) as resp:
                assert resp.status == 200
        for _ in range(400):
            if slack.posted and any((tmp_path / "var" / "cases").glob("*.json")):
                break
            await asyncio.sleep(0.05)
    finally:
        await gateway.stop()
    (case_file,) = (tmp_path / "var" / "cases").glob("*.json")
    case = json.loads(case_file.read_text())
    number = case_file.stem
    assert case["tracking_number"] == number
    assert case["channel"] == "slack"
    assert "trash and recycling weren't picked up" in case["original_text"]
    (reply,) = slack.posted
    event = json.loads(body)["event"]
    assert (reply["channel"], reply["thread_ts"]) == (event["channel"], event["ts"])
    assert f"Tracking number {number}" in reply["text"]
