"""The slack notifier through slack_sdk's AsyncWebClient, against the loopback Web API fake
(``SLACK_API_BASE_URL``)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers.slack import SlackNotifier
from gateway.records import Notification
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi

DM = "D07RX4M2K9Q"
THREAD = "1760448902.145009"


@pytest.fixture
async def slack(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    monkeypatch.setenv("SLACK_API_BASE_URL", await api.start())
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    yield api
    await api.close()


def notifier(timeout: float = 2) -> SlackNotifier:
    return SlackNotifier({"bot_token_env": "SLACK_BOT_TOKEN", "timeout_seconds": timeout})


def note(**changes: Any) -> Notification:
    """A confirmation in the report's thread, as the outbox hands it over."""
    thread = {"conversation": DM, "thread_ts": THREAD, "tracking_number": "E5TR3K"}
    base = Notification(
        "slack", "U07BRN8Q3TZ", "Thanks. Tracking number E5TR3K.", "confirmation", thread=thread
    )
    return dataclasses.replace(base, **changes)


async def test_reply_is_posted_in_the_reports_thread(slack: FakeSlackApi) -> None:
    remote = await notifier().send(note(), "k1")
    (posted,) = slack.posted
    assert (posted["channel"], posted["thread_ts"], posted["text"]) == (
        DM,
        THREAD,
        "Thanks. Tracking number E5TR3K.",
    )
    assert remote == f"{DM}:{posted['ts']}"


async def test_without_a_thread_the_reply_goes_to_the_residents_dm(slack: FakeSlackApi) -> None:
    await notifier().send(note(thread={}), "k1")
    (posted,) = slack.posted
    assert posted["channel"] == "U07BRN8Q3TZ" and "thread_ts" not in posted


async def test_offered_services_are_buttons_carrying_the_tracking_number(
    slack: FakeSlackApi,
) -> None:
    choices = (("pothole", "Pothole"), ("sidewalk", "Sidewalk"), ("other", "Other"), ("x", "X"))
    await notifier().send(note(purpose="question", choices=choices), "k1")
    section, actions = slack.posted[0]["blocks"]
    assert section["text"]["text"] == "Thanks. Tracking number E5TR3K."
    values = [b["value"] for b in actions["elements"]]
    assert values == ["E5TR3K:pothole", "E5TR3K:sidewalk", "E5TR3K:other"]
    ids = [b["action_id"] for b in actions["elements"]]
    assert len(set(ids)) == 3  # Slack refuses a block with two equal action ids


async def test_rate_limit_is_transient_with_its_retry_after(slack: FakeSlackApi) -> None:
    slack.rate_limited = True
    with pytest.raises(TransientDeliveryError) as caught:
        await notifier().send(note(), "k1")
    assert caught.value.retry_after == 7.0


async def test_a_refused_token_is_permanent(
    slack: FakeSlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    with pytest.raises(PermanentDeliveryError, match="invalid_auth"):
        await notifier().send(note(), "k1")


async def test_a_stalled_api_is_transient(slack: FakeSlackApi) -> None:
    slack.hang = True
    with pytest.raises(TransientDeliveryError):
        await notifier(timeout=1).send(note(), "k1")
