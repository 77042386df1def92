"""One process, every part: a signed SMS in, TwiML out, a case file in the drop folder."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path

from gateway.runtime import Runtime
from tests.conftest import SHARED_FIXTURES
from tests.support import folder_only, make_settings, post_twilio, serve


async def test_signed_sms_reaches_the_drop_folder(tmp_path: Path, database_url: str) -> None:
    overrides = {**folder_only(tmp_path), "outbox": {"poll_interval_seconds": 0.5}}
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    body = (SHARED_FIXTURES / "twilio" / "sms_inbound.form").read_bytes()
    async with serve(runtime) as client:
        worker = asyncio.create_task(runtime.work())
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            resp = await post_twilio(client, body)
            twiml = await resp.text()
            number = re.search(r"Tracking number (\w+)", twiml)
            assert resp.status == 200 and number
            case_file = tmp_path / "cases" / f"{number.group(1)}.json"
            # Speed is bench/ingest.py's to measure; here only the path: a deadline, not a target.
            while not case_file.exists() and loop.time() - started < 30.0:
                await asyncio.sleep(0.02)
            assert case_file.exists(), "no case file within 30 s"
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    case = json.loads(case_file.read_text())
    assert case["tracking_number"] == number.group(1)
    assert case["channel"] == "twilio_sms"
    assert "pothole" in case["original_text"].lower()
