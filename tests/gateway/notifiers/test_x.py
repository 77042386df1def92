"""The x notifier through tweepy's async client against the loopback X API (``X_API_BASE_URL``):
public replies that carry nothing personal, DMs, status changes either way, rate limits."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from channels.x import sign
from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers.x import XNotifier
from gateway.records import Notification
from gateway.runtime import Runtime
from tests.conftest import SHARED_FIXTURES
from tests.fakes.x_api import FakeXApi
from tests.support import folder_only, make_settings, serve

X = SHARED_FIXTURES / "x"
IDS = json.loads((X / "_ids.json").read_text())
CREDENTIALS = {
    "X_CONSUMER_KEY": "fixture-consumer-key",
    "X_CONSUMER_SECRET": IDS["consumer_secret_for_tests"],
    "X_ACCESS_TOKEN": "fixture-access-token",
    "X_ACCESS_TOKEN_SECRET": "fixture-access-secret",
}
OPTIONS = {f"{k.removeprefix('X_').lower()}_env": k for k in CREDENTIALS}
MakeNotifier = Callable[..., XNotifier]


@pytest.fixture
async def x_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeXApi]:
    mentions = json.loads((X / "api_v2_mentions_page.json").read_text())
    dms = json.loads((X / "api_v2_dm_events_page.json").read_text())
    api = FakeXApi(mentions, dms)
    monkeypatch.setenv("X_API_BASE_URL", await api.start())
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    yield api
    await api.close()


@pytest.fixture
async def make_notifier() -> AsyncIterator[MakeNotifier]:
    made: list[XNotifier] = []

    def build(**options: Any) -> XNotifier:
        made.append(XNotifier({**OPTIONS, "timeout_seconds": 2, **options}))
        return made[-1]

    yield build
    for notifier in made:
        await notifier.close()


def note(to: str, purpose: str, body: str, **thread: str) -> Notification:
    return Notification("x", to, body, purpose, request_id="r1", thread=thread)


THREAD = {"in_reply_to": "1978082874749878556", "tracking_number": "K7M2QX", "language": "en"}
PRIVATE = "Report K7M2QX for Sam at 25 Caswell Ave, 401-555-0142, sam@example.org: pothole"


async def test_a_confirmation_to_a_poster_is_the_public_text_under_their_post(
    x_api: FakeXApi, make_notifier: MakeNotifier
) -> None:
    sent = await make_notifier().send(note("post:1312", "confirmation", PRIVATE, **THREAD), "k")
    [post] = x_api.posts
    assert sent == post["id"]
    assert post["reply"] == {"in_reply_to_tweet_id": "1978082874749878556"}
    assert post["text"] == (
        "Thanks, we got your report. Tracking number K7M2QX. Send us a DM for anything more."
    )
    assert x_api.dms == []


async def test_a_public_reply_follows_the_residents_language_and_the_citys_text(
    x_api: FakeXApi, make_notifier: MakeNotifier
) -> None:
    spanish = {**THREAD, "language": "es"}
    await make_notifier().send(note("post:1312", "completed", PRIVATE, **spanish), "k1")
    own = {"en": "Got it: {tracking_number}. DM us."}
    await make_notifier(public_reply=own).send(note("post:1", "confirmation", "", **THREAD), "k2")
    assert x_api.posts[0]["text"].startswith("Gracias, recibimos su reporte. Número de seguimiento")
    assert x_api.posts[1]["text"] == "Got it: K7M2QX. DM us."


async def test_a_question_is_posted_as_asked_with_its_number(
    x_api: FakeXApi, make_notifier: MakeNotifier
) -> None:
    ask = "Where is it? Reply with an address or the nearest cross streets."
    await make_notifier().send(note("post:1312", "question", ask, **THREAD), "k")
    assert x_api.posts[0]["text"] == f"{ask} (K7M2QX)"


async def test_the_911_notice_is_posted_as_written_not_as_a_receipt(
    x_api: FakeXApi, make_notifier: MakeNotifier
) -> None:
    # A resident who posted about a fire must read "call 911", never only "thanks".
    notice = "If anyone is in danger, call 911 now."
    await make_notifier().send(note("post:1312", "emergency", notice, **THREAD), "k")
    assert x_api.posts[0]["text"] == f"{notice} (K7M2QX)"


async def test_a_dm_resident_is_answered_by_dm_with_the_whole_message(
    x_api: FakeXApi, make_notifier: MakeNotifier
) -> None:
    sent = await make_notifier().send(note("dm:1402", "confirmation", PRIVATE, **THREAD), "k")
    [dm] = x_api.dms
    assert (dm["to"], dm["text"], sent) == ("1402", PRIVATE, dm["id"])
    assert x_api.posts == []


@pytest.mark.parametrize("via", ["reply", "dm"])
async def test_a_status_change_goes_by_public_reply_or_dm_per_config(
    x_api: FakeXApi, make_notifier: MakeNotifier, via: str
) -> None:
    change = "City of Example 311: report K7M2QX is now resolved. Crew patched it at 25 Caswell."
    await make_notifier(status_via=via).send(note("post:1312", "status", change, **THREAD), "k")
    if via == "dm":
        assert [d["text"] for d in x_api.dms] == [change]
        assert x_api.posts == []
    else:
        [post] = x_api.posts
        assert post["text"].startswith("Report K7M2QX has an update. Send us a DM")
        assert "Caswell" not in post["text"]


async def test_a_status_answer_with_no_request_of_theirs_goes_by_dm(
    x_api: FakeXApi, make_notifier: MakeNotifier
) -> None:
    await make_notifier().send(note("post:1312", "status", "Report K7M2QX: accepted."), "k")
    assert [d["to"] for d in x_api.dms] == ["1312"]


async def test_rate_limit_is_transient_until_xs_reset_and_an_outage_is_transient(
    x_api: FakeXApi, make_notifier: MakeNotifier
) -> None:
    x_api.limited, x_api.reset_after = 1, 30
    with pytest.raises(TransientDeliveryError) as limited:
        await make_notifier().send(note("post:1312", "confirmation", "", **THREAD), "k")
    assert limited.value.status == 429
    assert limited.value.retry_after is not None and 25 <= limited.value.retry_after <= 31
    x_api.down = True
    with pytest.raises(TransientDeliveryError, match="503"):
        await make_notifier().send(note("post:1312", "confirmation", "", **THREAD), "k")
    with pytest.raises(PermanentDeliveryError, match="not an X address"):
        await make_notifier().send(note("+14015550142", "confirmation", "", **THREAD), "k")


PHONE = re.compile(r"\d{3}[ .-]?\d{4}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.\w+")


async def test_a_mention_with_personal_data_is_answered_in_public_without_any(
    tmp_path: Path, sqlite_url: str, x_api: FakeXApi
) -> None:
    overrides = {
        **folder_only(tmp_path),
        "channels": {"x": {"enabled": True, "user_id": IDS["city_user_id"]}},
        "notifiers": {"x": {"enabled": True}},
    }
    runtime = Runtime(make_settings(tmp_path, sqlite_url, overrides))
    payload = json.loads((X / "account_activity_mention.json").read_text())
    tweet = payload["tweet_create_events"][0]
    tweet["text"] = (
        "@NewportRI311 pothole outside 25 Caswell Ave, I'm Sam, call 401-555-0142 "
        "or sam.rider@example.org"
    )
    tweet["display_text_range"] = [0, len(tweet["text"])]
    tweet["entities"]["media"] = tweet["extended_entities"]["media"] = []
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "x-twitter-webhooks-signature": sign(IDS["consumer_secret_for_tests"], body),
    }
    async with serve(runtime) as client:
        assert (await client.post("/webhooks/x", data=body, headers=headers)).status == 200
        await runtime.intake_worker().run_once()
        await runtime.outbox_worker().run_once()
    [post] = x_api.posts
    text = post["text"]
    assert post["reply"]["in_reply_to_tweet_id"] == tweet["id_str"]
    assert re.search(r"Tracking number [A-Z0-9]{6}\b", text)
    assert not PHONE.search(text) and not EMAIL.search(text)
    for private in ("Caswell", "Sam", "pothole", "sam.rider"):
        assert private.lower() not in text.lower()


async def test_a_dm_conversation_asks_answers_status_and_honours_stop(
    tmp_path: Path, sqlite_url: str, x_api: FakeXApi
) -> None:
    overrides = {
        **folder_only(tmp_path),
        "channels": {"x": {"enabled": True, "user_id": IDS["city_user_id"]}},
        "notifiers": {"x": {"enabled": True}},
    }
    runtime = Runtime(make_settings(tmp_path, sqlite_url, overrides))
    report = json.loads((X / "account_activity_dm.json").read_text())
    resident = report["direct_message_events"][0]["message_create"]["sender_id"]

    def dm(event_id: str, text: str) -> bytes:
        payload = json.loads(json.dumps(report))
        event = payload["direct_message_events"][0]
        event["id"], event["message_create"]["message_data"]["text"] = event_id, text
        return json.dumps(payload).encode()

    async with serve(runtime) as client:
        for body in (
            (X / "account_activity_dm.json").read_bytes(),
            dm("1978095243752374999", "STATUS"),
            dm("1978095243752375000", "STOP"),
            dm("1978095243752375001", "25 Caswell Ave"),
        ):
            headers = {
                "Content-Type": "application/json",
                "x-twitter-webhooks-signature": sign(IDS["consumer_secret_for_tests"], body),
            }
            assert (await client.post("/webhooks/x", data=body, headers=headers)).status == 200
            await runtime.intake_worker().run_once()
            await runtime.outbox_worker().run_once()
    texts = [d["text"] for d in x_api.dms if d["to"] == resident]
    # The question (no gazetteer knows Caswell Ave), the STATUS answer; after STOP, nothing: the
    # answer still completes the request, its reply is suppressed.
    assert texts[0] == runtime.settings.message("ask_location")
    assert texts[1].startswith("Report ") and "waiting for more information" in texts[1]
    assert len(texts) == 2
    assert x_api.posts == []
    assert list((tmp_path / "cases").glob("*.json"))
