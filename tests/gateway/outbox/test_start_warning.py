"""``gateway worker`` and ``gateway web`` as real processes: at start, one JSON warning line per
notifier that is off while messages to residents wait in the outbox for it, with the count, and
none for a notifier with nothing waiting."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from gateway.outbox import jobs
from gateway.outbox.replies import enqueue_notification
from gateway.records import Notification
from gateway.store.database import make_engine
from gateway.store.schema import outbox
from tests.conftest import REPO_ROOT, TWILIO_TOKEN
from tests.support import folder_only, write_config

pytestmark = pytest.mark.timeout(120)

WARNING = "notifiers.disabled_with_messages_waiting"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def queue(database_url: str) -> None:
    """Two emails and one text waiting; one more email already sent."""
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            for notifier, to in [
                ("email", "a@example.org"),
                ("email", "b@example.org"),
                ("email", "c@example.org"),
                ("twilio_sms", "+14015550142"),
            ]:
                note = Notification(notifier, to, "Thanks", "confirmation")
                await enqueue_notification(conn, note, key=to)
            sent = outbox.c.idempotency_key == "notify-email-c@example.org"
            await conn.execute(update(outbox).where(sent).values(state=jobs.DONE))
    finally:
        await engine.dispose()


async def warnings_at_start(root: Path, database_url: str, role: str) -> list[dict[str, Any]]:
    """Start ``gateway <role>``, read its log lines for a while, stop it; its warnings."""
    env = {
        **os.environ,
        "PORT": str(free_port()),
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "DATABASE_URL": database_url,
        "GATEWAY_CONFIG": str(root / "config" / "gateway.toml"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", role, cwd=root, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    lines: list[dict[str, Any]] = []
    started = datetime.now(UTC)
    try:
        # The web role warns before it listens; the worker before its loops start, so two quiet
        # seconds after its first warning, all of them are in.
        while (datetime.now(UTC) - started).total_seconds() < 60:
            try:
                raw = await asyncio.wait_for(process.stderr.readline(), 2)
            except TimeoutError:
                if any(line.get("event") == WARNING for line in lines):
                    break
                continue
            if not raw:
                break
            if raw.startswith(b"{"):
                lines.append(json.loads(raw))
            if lines and lines[-1].get("event") == "web.listening":
                break
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            # How the role stops is not this test's subject (tests/system/test_graceful_shutdown
            # is): a role that ignored SIGTERM must not hang the suite.
            process.kill()
            await process.wait()
    return [line for line in lines if line.get("event") == WARNING]


@pytest.mark.parametrize("role", ["worker", "web"])
async def test_each_role_warns_at_start_once_per_notifier_that_is_off_with_messages_waiting(
    tmp_path: Path, database_url: str, role: str
) -> None:
    write_config(tmp_path, folder_only(tmp_path))
    await queue(database_url)
    warned = await warnings_at_start(tmp_path, database_url, role)
    assert [(w["level"], w["notifier"], w["waiting"]) for w in warned] == [
        ("warning", "email", 2),
        ("warning", "twilio_sms", 1),
    ]
    assert warned[0]["enable"] == "notifiers.email.enabled"


async def test_a_role_with_nothing_waiting_warns_nothing(tmp_path: Path, database_url: str) -> None:
    write_config(tmp_path, folder_only(tmp_path))
    assert await warnings_at_start(tmp_path, database_url, "web") == []
