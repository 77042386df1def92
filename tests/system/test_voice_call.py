"""A signed phone call replayed against ``python -m gateway run`` ends as a case file.

The gateway runs as a real process on SQLite with the voice channel enabled and the default
drop-folder connector (``var/cases/``). Two calls are driven as Twilio drives them, from the
shared fixtures ``voice_incoming_call.form``, ``voice_gather_digits.form`` and
``voice_gather_speech.form``, each webhook signed and posted to the URL the last TwiML named: one
keeps the caller ID, one stays anonymous. Each must leave one case file carrying the spoken
description, the place, the service and the caller's number (none when anonymous).
"""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.channels.voice_calls import DIGITS, INCOMING, ROUTE, SPEECH, form_of
from tests.support import twilio_headers, write_config
from tests.system.process import Gateway, free_port

pytestmark = pytest.mark.timeout(120)

CALLER = "+14015550136"


class PhoneCall:
    """One call over real HTTP, following each answer's action URL."""

    def __init__(self, session: aiohttp.ClientSession, base: str, sid: str) -> None:
        self.session, self.base, self.sid = session, base, sid
        self.action = ROUTE

    async def post(self, form: dict[str, str], path: str | None = None) -> ET.Element:
        path = path or self.action
        url = f"{self.base}{path}"
        body = urlencode({**form, "CallSid": self.sid}).encode()
        async with self.session.post(url, data=body, headers=twilio_headers(url, body)) as resp:
            assert resp.status == 200, await resp.text()
            root = ET.fromstring(await resp.text())  # noqa: S314
        for verb in ("Gather", "Record"):
            found = root.find(verb)
            if found is not None:
                self.action = found.get("action") or self.action
        return root

    async def press(self, digits: str) -> ET.Element:
        return await self.post(form_of(DIGITS, Digits=digits))

    async def say(self, words: str | None = None) -> ET.Element:
        changes = {"SpeechResult": words} if words else {}
        return await self.post(form_of(SPEECH, **changes))


async def call(base: str, sid: str, *, anonymous: bool) -> str:
    """A whole call: English, the water main, 23 Warner St, no recording; its tracking number."""
    async with aiohttp.ClientSession() as session:
        phone = PhoneCall(session, base, sid)
        await phone.post(form_of(INCOMING), ROUTE)
        await phone.press("1")
        await phone.say()
        await phone.press("1")
        await phone.say("23 Warner Street")
        await phone.press("1")
        await phone.press("#")
        if anonymous:
            tracking = await phone.press("2")
        else:
            await phone.press("1")
            tracking = await phone.press("2")
        number = "".join(e.text or "" for e in tracking.iter("say-as"))
        assert number, ET.tostring(tracking)
        await phone.press("2")
        await phone.post(form_of(INCOMING, CallStatus="completed"), f"{ROUTE}?event=status")
        return number


async def case_files(folder: Path, count: int) -> list[dict[str, Any]]:
    for _ in range(400):
        files = sorted(folder.glob("*.json")) if folder.exists() else []
        if len(files) >= count:
            return [json.loads(f.read_text()) for f in files]
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} case files in {folder}")


async def test_a_signed_call_replayed_against_the_running_gateway_ends_as_a_case_file(
    tmp_path: Path,
    newport_gazetteer: Path,
) -> None:
    write_config(
        tmp_path,
        {
            "outbox": {"poll_interval_seconds": 0.05},
            "smtp": {"enabled": False},
            "channels": {"twilio_voice": {"enabled": True}},
            "normalizer": {"gazetteer": str(newport_gazetteer)},
        },
    )
    port = free_port()
    gateway = Gateway(tmp_path, port, tmp_path / "gateway.db")
    base = f"http://127.0.0.1:{port}"
    try:
        await gateway.start()
        known = await call(base, "CA" + "a" * 32, anonymous=False)
        hidden = await call(base, "CA" + "b" * 32, anonymous=True)
        cases = {c["tracking_number"]: c for c in await case_files(tmp_path / "var" / "cases", 2)}
    finally:
        await gateway.stop()
    assert set(cases) == {known, hidden}
    for case in cases.values():
        assert case["channel"] == "twilio_voice"
        assert "water bubbling up out of the street" in case["description"]
        assert case["service_code"] == "water_leak"
        assert "Warner" in (case["location"]["address"] or "")
        assert case["location"]["lat"] is not None
    assert cases[known]["reporter"]["phone"] == CALLER
    assert cases[hidden]["reporter"]["phone"] is None
    assert cases[hidden]["reporter"]["anonymous"] is True
    assert CALLER not in json.dumps(cases[hidden])
