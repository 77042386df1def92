"""The X poller against the loopback X API v2: pages fetched and parsed by tweepy itself, stored
raw through the ingest core, cursors that survive a restart, 429 honoured until X's reset."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.ingest.x_poller import DM_EVENTS, MENTIONS, XPoller
from gateway.runtime import Runtime
from gateway.store import cursors
from gateway.store.schema import inbound_messages, service_requests
from tests.conftest import SHARED_FIXTURES
from tests.fakes.x_api import FakeXApi
from tests.support import folder_only, make_settings

X = SHARED_FIXTURES / "x"
IDS = json.loads((X / "_ids.json").read_text())
CITY = IDS["city_user_id"]
MENTIONS_PAGE = json.loads((X / "api_v2_mentions_page.json").read_text())
DM_PAGE = json.loads((X / "api_v2_dm_events_page.json").read_text())
SECRETS = {
    "X_BEARER_TOKEN": "fixture-bearer",
    "X_CONSUMER_KEY": "fixture-consumer-key",
    "X_CONSUMER_SECRET": IDS["consumer_secret_for_tests"],
    "X_ACCESS_TOKEN": "fixture-access-token",
    "X_ACCESS_TOKEN_SECRET": "fixture-access-secret",
}
NEW_MENTION = {
    "id": "1978200000000000000",
    "text": "@NewportRI311 streetlight out on Bellevue Ave at Narragansett",
    "author_id": "1577301845611823104",
    "conversation_id": "1978200000000000000",
    "created_at": "2025-10-14T20:40:00.000Z",
    "lang": "en",
    "edit_history_tweet_ids": ["1978200000000000000"],
    "entities": {"mentions": [{"start": 0, "end": 13, "username": "NewportRI311", "id": CITY}]},
}


@pytest.fixture
async def x_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeXApi]:
    api = FakeXApi(MENTIONS_PAGE, DM_PAGE)
    monkeypatch.setenv("X_API_BASE_URL", await api.start())
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    yield api
    await api.close()


def gateway(root: Path, database_url: str, **notifiers: Any) -> Runtime:
    overrides = {
        **folder_only(root),
        "channels": {"x": {"enabled": True, "mode": "polling", "user_id": CITY}},
        "notifiers": notifiers,
    }
    return Runtime(make_settings(root, database_url, overrides))


async def count(runtime: Runtime, table: Any) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def polled(runtime: Runtime) -> XPoller:
    poller = runtime.x_poller()
    assert poller is not None
    await runtime.writer.start()
    return poller


async def test_a_poll_stores_every_page_raw_and_moves_the_cursors(
    tmp_path: Path, database_url: str, x_api: FakeXApi
) -> None:
    runtime = gateway(tmp_path, database_url)
    try:
        poller = await polled(runtime)
        assert await poller.run_once() == 6
        async with runtime.engine.connect() as conn:
            rows = list(await conn.execute(select(inbound_messages)))
            where = (
                await cursors.position(conn, MENTIONS),
                await cursors.position(conn, DM_EVENTS),
            )
    finally:
        await runtime.writer.stop()
        await runtime.close()
    # 4 mentions and 2 DMs (the city's own DM is skipped), each row keeping its page's bytes.
    assert len(rows) == 6
    pages = {json.dumps(MENTIONS_PAGE["data"][0]["id"]), json.dumps(DM_PAGE["data"][0]["id"])}
    assert all(any(p.encode() in r.raw_body for p in pages) for r in rows)
    assert where == ("1978091217220534505", "1978099891041206529")
    [mentions] = x_api.gets(f"/2/users/{CITY}/mentions")
    assert "since_id" not in mentions
    assert "geo.place_id" in mentions["expansions"]
    assert "conversation_id" in mentions["tweet.fields"]
    [dms] = x_api.gets("/2/dm_events")
    assert dms["event_types"] == "MessageCreate"


async def test_a_restart_resumes_from_the_stored_ids_without_a_second_report(
    tmp_path: Path, database_url: str, x_api: FakeXApi
) -> None:
    first = gateway(tmp_path, database_url)
    try:
        await (await polled(first)).run_once()
        await first.intake_worker().run_once()
        filed = await count(first, service_requests)
    finally:
        await first.writer.stop()
        await first.close()
    x_api.mentions.insert(0, NEW_MENTION)
    again = gateway(tmp_path, database_url)
    try:
        assert await (await polled(again)).run_once() == 1 + 2
        await again.intake_worker().run_once()
        assert await count(again, service_requests) == filed + 1
        assert await count(again, inbound_messages) == 6 + 1
    finally:
        await again.writer.stop()
        await again.close()
    later = x_api.gets(f"/2/users/{CITY}/mentions")[-1]
    assert later["since_id"] == "1978091217220534505"


async def test_a_429_waits_for_xs_reset_then_succeeds(
    tmp_path: Path, database_url: str, x_api: FakeXApi
) -> None:
    runtime = gateway(tmp_path, database_url)
    now = [time.time()]
    try:
        poller = await polled(runtime)
        poller.clock = lambda: now[0]
        x_api.limited, x_api.reset_after = 1, 30
        # Mentions are refused; DM events, a separate limit, are read.
        assert await poller.run_once() == 2
        # Before the reset, mentions are not asked for at all.
        await poller.run_once()
        assert len(x_api.gets(f"/2/users/{CITY}/mentions")) == 1
        assert len(x_api.gets("/2/dm_events")) == 2
        now[0] += 31
        assert await poller.run_once() == 4 + 2
        async with runtime.engine.connect() as conn:
            assert await cursors.position(conn, MENTIONS) == "1978091217220534505"
    finally:
        await runtime.writer.stop()
        await runtime.close()
    assert len(x_api.gets(f"/2/users/{CITY}/mentions")) == 2


async def test_a_reply_in_the_conversation_answers_the_citys_question(
    tmp_path: Path, database_url: str, x_api: FakeXApi
) -> None:
    runtime = gateway(tmp_path, database_url, x={"enabled": True})
    try:
        await (await polled(runtime)).run_once()
        intake = runtime.intake_worker()
        # One message a round, as they arrive between polls: the question is asked before its
        # answer is read.
        intake.batch_size = 1
        while await intake.run_once():
            pass
        await runtime.outbox_worker().run_once()
        async with runtime.engine.connect() as conn:
            requests = {
                r.channel_message_id: r for r in await conn.execute(select(service_requests))
            }
    finally:
        await runtime.writer.stop()
        await runtime.close()
    pothole = requests["1978084053349303281"]
    # The reply completed its request and made none of its own.
    assert "1978091217220534505" not in requests
    assert pothole.status == "submitted"
    assert pothole.address.startswith("it's at the corner of Spring St and Memorial Blvd")
    under_pothole = [
        p for p in x_api.posts if p["reply"]["in_reply_to_tweet_id"] == pothole.channel_message_id
    ]
    question = f"{runtime.settings.message('ask_location')} ({pothole.tracking_number})"
    texts = [p["text"] for p in under_pothole]
    # One outbox round sends both, in either order: the question and the confirmation.
    assert question in texts
    assert any(pothole.tracking_number in t for t in texts if t != question)


async def test_a_post_in_another_conversation_is_a_new_report_not_the_answer(
    tmp_path: Path, database_url: str, x_api: FakeXApi
) -> None:
    original = MENTIONS_PAGE["data"][3]
    x_api.mentions = [original]
    elsewhere = {
        **NEW_MENTION,
        "author_id": original["author_id"],
        "text": "@NewportRI311 also a dead streetlight on Bellevue Ave at Narragansett",
    }
    runtime = gateway(tmp_path, database_url, x={"enabled": True})
    try:
        poller = await polled(runtime)
        await poller.run_once()
        await runtime.intake_worker().run_once()
        x_api.mentions.insert(0, elsewhere)
        await poller.run_once()
        await runtime.intake_worker().run_once()
        async with runtime.engine.connect() as conn:
            made = {r.channel_message_id: r for r in await conn.execute(select(service_requests))}
    finally:
        await runtime.writer.stop()
        await runtime.close()
    assert made[original["id"]].status == "awaiting_info"
    assert elsewhere["id"] in made


async def test_a_neighbours_reply_in_the_conversation_is_their_own_report(
    tmp_path: Path, database_url: str, x_api: FakeXApi
) -> None:
    original, answer = MENTIONS_PAGE["data"][3], MENTIONS_PAGE["data"][0]
    neighbour = {**answer, "id": "1978091217220534600", "author_id": "1577301845611823104"}
    x_api.mentions = [original]
    runtime = gateway(tmp_path, database_url, x={"enabled": True})
    try:
        poller = await polled(runtime)
        await poller.run_once()
        await runtime.intake_worker().run_once()
        x_api.mentions.insert(0, neighbour)
        await poller.run_once()
        await runtime.intake_worker().run_once()
        async with runtime.engine.connect() as conn:
            made = {r.channel_message_id: r for r in await conn.execute(select(service_requests))}
    finally:
        await runtime.writer.stop()
        await runtime.close()
    assert made[original["id"]].status == "awaiting_info"
    assert made[neighbour["id"]].reporter_address == "post:1577301845611823104"
