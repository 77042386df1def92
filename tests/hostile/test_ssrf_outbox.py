"""SSRF media URLs are refused at parse, and a refusal or a message that cannot be sent never
holds up the outbox (issue 20): permanent at once, no traceback each attempt, no open breaker."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from channels._safe import allowed_url
from gateway.config.settings import BreakerSettings
from gateway.outbox import jobs
from gateway.outbox.breaker import CircuitBreaker
from gateway.outbox.replies import enqueue_notification
from gateway.records import Notification
from gateway.runtime import Runtime
from tests.channels.conftest import inbound_rows
from tests.fakes.smtp_sink import smtp_sink
from tests.support import twilio_headers

Client = TestClient[Any, Any]
TWILIO = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
HOSTILE = [
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "http://127.0.0.1/admin",
    "http://169.254.169.254/latest/meta-data/",
    "http://0x7f000001/",
    "http://2130706433/",
    "https://api.twilio.com@evil.example/",
    "https://user:pw@api.twilio.com/x",
    "https://api.twilio.com.evil.example/x",
    "http://[::1]/",
    "https://api.twilio.com:99999/x",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_only_listed_http_hosts_are_allowed(url: str) -> None:
    assert allowed_url(TWILIO, ["api.twilio.com"])
    assert allowed_url("https://m.twiliocdn.com/a", ["*.twiliocdn.com"])
    assert not allowed_url(url, ["api.twilio.com", "*.twiliocdn.com"])


async def test_a_signed_mms_with_hostile_media_urls_queues_no_fetch(
    client: Client, runtime: Runtime
) -> None:
    fields = {
        "MessageSid": "MM" + "1" * 32,
        "From": "+14015550142",
        "Body": "Pothole at 280 Spring St",
        "NumMedia": str(len(HOSTILE[:9]) + 1),
        **{f"MediaUrl{i}": url for i, url in enumerate(HOSTILE[:9])},
        "MediaUrl9": TWILIO,
    }
    body = urlencode(fields).encode()
    url = str(client.make_url("/webhooks/twilio/sms"))
    response = await client.post(
        "/webhooks/twilio/sms", data=body, headers=twilio_headers(url, body)
    )
    assert response.status == 200
    (row,) = await inbound_rows(runtime)
    assert [m["url"] for m in row.message["media"]] == [TWILIO]
    assert row.message["extra"]["media_refused"] == "9"
    await runtime.intake_worker().run_once()
    fetches = await jobs.list_jobs(runtime.engine, kind=jobs.FETCH)
    assert [f.payload["url"] for f in fetches] == [TWILIO]


def test_a_permanent_refusal_never_opens_the_breaker() -> None:
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=2, reset_seconds=60))
    for _ in range(10):
        assert breaker.allow()
        breaker.neutral()
    assert breaker.state == "closed"


async def test_a_notification_that_cannot_be_sent_is_dead_at_once_without_a_traceback(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad = Notification(channel="email", to="<<>>@@", body="Closed \ud800.", purpose="status")
    good = Notification(channel="email", to="dana@example.org", body="ok", purpose="status")
    async with smtp_sink() as sink:
        monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
        async with runtime.engine.begin() as conn:
            for i in range(5):
                await enqueue_notification(conn, bad, key=f"bad-{i}")
            await enqueue_notification(conn, good, key="good")
        worker = runtime.outbox_worker()
        with caplog.at_level(logging.INFO):
            await worker.run_once()
            await worker.run_once()
        notes = await jobs.list_jobs(runtime.engine, kind=jobs.NOTIFY)
    assert sorted(n.state for n in notes) == [jobs.DEAD] * 5 + [jobs.DONE]
    assert all(n.attempts == 1 for n in notes)
    assert len(sink.received) == 1
    assert not [r for r in caplog.records if r.exc_info]
    assert all(b.state == "closed" for b in worker.breakers.values())
