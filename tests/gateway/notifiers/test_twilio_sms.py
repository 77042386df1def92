"""The twilio_sms notifier through the twilio SDK's REST client, against the loopback Messages API
fake (``TWILIO_API_BASE_URL``), plus small loopback servers for a throttle and a stall."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers.twilio_sms import TwilioSmsNotifier
from gateway.records import Notification
from tests.fakes.twilio_api import UNSUBSCRIBED, FakeTwilioApi

ACCOUNT = "AC" + "3" * 32
AUTH_TOKEN = "notifier_auth_token_not_real_000"
CITY = "+14015550100"
RESIDENT = "+14015550147"
BODY = "Got it, thanks. Report H4TL9P is on its way to the city."
MESSAGES = "/2010-04-01/Accounts/{account}/Messages.json"
MakeNotifier = Callable[..., TwilioSmsNotifier]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def note(to: str = RESIDENT, body: str = BODY) -> Notification:
    """A confirmation to ``to``, as the outbox hands it over."""
    return Notification("twilio_sms", to, body, "confirmation", request_id="r1")


@pytest.fixture
async def twilio(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTwilioApi]:
    api = FakeTwilioApi(ACCOUNT, AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_API_BASE_URL", await api.start())
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    yield api
    await api.close()


@pytest.fixture
async def make_notifier() -> AsyncIterator[MakeNotifier]:
    """Build the notifier from ``[notifiers.twilio_sms]``-shaped options; closed afterwards."""
    made: list[TwilioSmsNotifier] = []

    def build(**options: Any) -> TwilioSmsNotifier:
        notifier = TwilioSmsNotifier(
            {
                "account_sid_env": "TWILIO_ACCOUNT_SID",
                "auth_token_env": "TWILIO_AUTH_TOKEN",
                "number": CITY,
                "timeout_seconds": 2,
                **options,
            }
        )
        made.append(notifier)
        return notifier

    yield build
    for notifier in made:
        await notifier.close()


@asynccontextmanager
async def messages_api(handler: Handler) -> AsyncIterator[str]:
    """A loopback server answering Twilio's Messages create call with ``handler``."""
    app = web.Application()
    app.router.add_post(MESSAGES, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_note_is_one_messages_call_and_returns_its_sid(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier
) -> None:
    sid = await make_notifier().send(note(), "notify-twilio_sms-confirmation-r1")
    assert twilio.attempts == 1
    assert twilio.sent == [{"To": RESIDENT, "From": CITY, "Body": BODY, "sid": sid}]
    assert sid is not None and sid.startswith("SM")


async def test_each_note_gets_its_own_sid(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier
) -> None:
    notifier = make_notifier()
    first = await notifier.send(note(body="One."), "k1")
    second = await notifier.send(note(body="Two."), "k2")
    assert first != second
    assert [(m["Body"], m["sid"]) for m in twilio.sent] == [("One.", first), ("Two.", second)]


async def test_status_callback_is_sent_when_configured(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier
) -> None:
    callback = "https://311.example.gov/webhooks/twilio/status"
    await make_notifier(status_callback=callback).send(note(), "k")
    (sent,) = twilio.sent
    assert sent["StatusCallback"] == callback
    assert (sent["To"], sent["From"], sent["Body"]) == (RESIDENT, CITY, BODY)


async def test_whatsapp_keeps_its_scheme_on_both_ends(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier
) -> None:
    await make_notifier().send(note(to="whatsapp:" + RESIDENT), "k")
    (sent,) = twilio.sent
    assert (sent["To"], sent["From"]) == ("whatsapp:" + RESIDENT, "whatsapp:" + CITY)


async def test_an_unsubscribed_resident_is_permanent_21610(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier
) -> None:
    twilio.unsubscribed.add(RESIDENT)
    with pytest.raises(PermanentDeliveryError, match=str(UNSUBSCRIBED)) as caught:
        await make_notifier().send(note(), "k")
    assert caught.value.status == 400
    assert twilio.sent == []


async def test_wrong_credentials_are_permanent(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not_the_token")
    with pytest.raises(PermanentDeliveryError, match="20003") as caught:
        await make_notifier().send(note(), "k")
    assert caught.value.status == 401
    assert twilio.sent == []


async def test_a_twilio_outage_is_transient_and_tried_once(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier
) -> None:
    twilio.down = True
    with pytest.raises(TransientDeliveryError) as caught:
        await make_notifier().send(note(), "k")
    assert caught.value.status == 503
    # Retries belong to the outbox: the notifier makes one attempt per send.
    assert twilio.attempts == 1
    assert twilio.sent == []


async def _throttled(request: web.Request) -> web.Response:
    body = {"code": 20429, "message": "Too Many Requests", "status": 429}
    return web.Response(
        text=json.dumps(body),
        status=429,
        content_type="application/json",
        headers={"Retry-After": "7"},
    )


async def test_a_429_is_transient(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with messages_api(_throttled) as url:
        monkeypatch.setenv("TWILIO_API_BASE_URL", url)
        with pytest.raises(TransientDeliveryError, match="20429") as caught:
            await make_notifier().send(note(), "k")
    assert caught.value.status == 429
    # Retry-After is not asserted: the SDK's TwilioRestException carries no response headers, so
    # the notifier cannot pass the server's wish on as ``retry_after``.


async def test_an_unreachable_api_is_transient(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier
) -> None:
    await twilio.close()
    with pytest.raises(TransientDeliveryError, match="unreachable"):
        await make_notifier().send(note(), "k")


async def test_a_stalled_api_is_transient_after_the_timeout(
    twilio: FakeTwilioApi, make_notifier: MakeNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await released.wait()
        return web.Response(status=503)

    async with messages_api(stall) as url:
        monkeypatch.setenv("TWILIO_API_BASE_URL", url)
        try:
            with pytest.raises(TransientDeliveryError):
                # timeout_seconds = 0.3; a notifier without its timeout is cut off here instead.
                await asyncio.wait_for(make_notifier(timeout_seconds=0.3).send(note(), "k"), 3)
        finally:
            released.set()
