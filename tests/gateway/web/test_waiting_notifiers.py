"""A notifier that is off while messages wait for it is said three ways: one warning line at the
start of the web role (the worker role's, as a real process, is in
``tests/gateway/outbox/test_start_warning.py``), a ``warnings`` entry in ``/readyz`` (still 200:
the process can serve), and the ``gateway_notifications_waiting{notifier}`` gauge, read fresh."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from gateway.outbox import jobs
from gateway.outbox.replies import enqueue_notification
from gateway.records import Notification
from gateway.runtime import Runtime
from gateway.store.migrate import head_revision
from gateway.store.schema import outbox
from tests.gateway.web.test_health import sample, scrape
from tests.support import folder_only, make_settings, merge, serve

WARNING = "notifiers.disabled_with_messages_waiting"
GAUGE = "gateway_notifications_waiting"


def gateway_with(root: Path, database_url: str, *on: str) -> Runtime:
    notifiers = {name: {"enabled": name in on} for name in ("email", "twilio_sms")}
    overrides = merge(folder_only(root), {"notifiers": notifiers})
    return Runtime(make_settings(root, database_url, overrides))


@pytest.fixture(autouse=True)
def _twilio_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "4" * 32)


async def queue(runtime: Runtime, notifier: str, count: int, *, state: str = jobs.PENDING) -> None:
    """``count`` messages to residents for ``notifier``, left in ``state``."""
    async with runtime.engine.begin() as conn:
        for serial in range(count):
            to = f"r{serial}@example.org" if notifier == "email" else f"+1401555{serial:04d}"
            note = Notification(notifier, to, "Thanks", "confirmation")
            await enqueue_notification(conn, note, key=f"{notifier}-{state}-{serial}")
        if state != jobs.PENDING:
            c = outbox.c
            mine = c.idempotency_key.like(f"notify-{notifier}-{notifier}-{state}-%")
            await conn.execute(update(outbox).where(mine).values(state=state))


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    return [
        (r.notifier, r.waiting)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.msg == WARNING and r.levelno == logging.WARNING
    ]


async def test_web_start_warns_once_per_notifier_that_is_off_with_messages_waiting(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = gateway_with(tmp_path, database_url, "twilio_sms")
    await queue(runtime, "email", 2)
    await queue(runtime, "email", 3, state=jobs.DONE)
    await queue(runtime, "email", 1, state=jobs.DEAD)
    # Waiting for a notifier that is on is the outbox's ordinary work, not a warning.
    await queue(runtime, "twilio_sms", 4)
    caplog.set_level(logging.INFO, logger="gateway.runtime")
    async with serve(runtime):
        at_start = warnings_in(caplog)
        # ``run`` starts the worker in the same process: the warning is not said twice.
        await runtime.warn_waiting_notifiers()
    assert at_start == [("email", 2)]
    assert warnings_in(caplog) == [("email", 2)]


async def test_nothing_waiting_warns_nothing(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = gateway_with(tmp_path, database_url)
    await queue(runtime, "email", 2, state=jobs.DONE)
    caplog.set_level(logging.INFO, logger="gateway.runtime")
    async with serve(runtime) as client:
        ready = await (await client.get("/readyz")).json()
    assert warnings_in(caplog) == []
    assert ready == {"status": "ready", "migration": head_revision()}


async def test_readyz_stays_ready_and_names_each_notifier_with_its_waiting_count(
    tmp_path: Path, database_url: str
) -> None:
    runtime = gateway_with(tmp_path, database_url)
    await queue(runtime, "email", 2)
    await queue(runtime, "twilio_sms", 1)
    async with serve(runtime) as client:
        resp = await client.get("/readyz")
        body: dict[str, Any] = await resp.json()
    assert resp.status == 200
    assert body["status"] == "ready"
    assert body["warnings"] == [
        {
            "notifier": "email",
            "waiting": 2,
            "reason": "notifier email is not enabled; 2 message(s) wait in the outbox",
        },
        {
            "notifier": "twilio_sms",
            "waiting": 1,
            "reason": "notifier twilio_sms is not enabled; 1 message(s) wait in the outbox",
        },
    ]


async def test_the_gauge_counts_messages_waiting_for_a_notifier_that_is_off_read_fresh(
    tmp_path: Path, database_url: str
) -> None:
    runtime = gateway_with(tmp_path, database_url, "twilio_sms")
    await queue(runtime, "email", 3)
    await queue(runtime, "email", 2, state=jobs.DONE)
    await queue(runtime, "twilio_sms", 5)
    async with serve(runtime) as client:
        before = await scrape(client)
        async with runtime.engine.begin() as conn:
            sent = outbox.c.idempotency_key.like("notify-email-email-pending-%")
            await conn.execute(update(outbox).where(sent).values(state=jobs.DONE))
        after = await scrape(client)
    assert sample(before, GAUGE, notifier="email") == 3
    # A notifier that is on has no sample at all: its messages are the outbox's ordinary work.
    assert (GAUGE, frozenset({("notifier", "twilio_sms")})) not in before
    # Off with nothing waiting is a sample of 0, not a missing one (an alert can watch it).
    assert after[(GAUGE, frozenset({("notifier", "email")}))] == 0


async def test_a_notifier_turned_on_leaves_no_stale_sample(
    tmp_path: Path, database_url: str
) -> None:
    off = gateway_with(tmp_path / "off", database_url)
    await queue(off, "twilio_sms", 2)
    async with serve(off) as client:
        while_off = await scrape(client)
    # The same database, after a restart with the SMS notifier turned on.
    on = gateway_with(tmp_path / "on", database_url, "twilio_sms")
    async with serve(on) as client:
        while_on = await scrape(client)
    assert sample(while_off, GAUGE, notifier="twilio_sms") == 2
    assert (GAUGE, frozenset({("notifier", "twilio_sms")})) not in while_on
