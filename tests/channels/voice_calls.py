"""A phone call driven as Twilio drives it: signed webhooks built from the shared voice fixtures,
each posted to the URL the previous TwiML answer named, each answer parsed as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp.test_utils import TestClient

from gateway.runtime import Runtime
from tests.conftest import SHARED_FIXTURES
from tests.support import twilio_headers

VOICE = SHARED_FIXTURES / "twilio"
INCOMING = VOICE / "voice_incoming_call.form"
DIGITS = VOICE / "voice_gather_digits.form"
SPEECH = VOICE / "voice_gather_speech.form"
RECORDING = VOICE / "voice_recording_status.form"
TRANSCRIPTION = VOICE / "voice_transcription.form"
ROUTE = "/webhooks/twilio/voice"


def form_of(path: Path, **changes: str | None) -> dict[str, str]:
    """A fixture's fields with ``changes`` (None drops a field)."""
    form = dict(parse_qsl(path.read_text(), keep_blank_values=True))
    for key, value in changes.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


FIXTURE_CALL = form_of(INCOMING)["CallSid"]
CALLER = form_of(INCOMING)["From"]


@dataclass
class Call:
    """One caller's call to the gateway, remembering where Twilio would post next."""

    client: TestClient[Any, Any]
    sid: str = FIXTURE_CALL
    caller: str = CALLER
    action: str = ROUTE
    answers: list[ET.Element] = field(default_factory=list)
    bodies: list[tuple[str, bytes]] = field(default_factory=list)

    async def post(self, path: str, form: dict[str, str]) -> ET.Element:
        body = urlencode({**form, "CallSid": self.sid, "From": self.caller}).encode()
        return await self.post_raw(path, body)

    async def post_raw(self, path: str, body: bytes) -> ET.Element:
        url = str(self.client.make_url(path))
        resp = await self.client.post(path, data=body, headers=twilio_headers(url, body))
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "text/xml"
        # Our own answer, over loopback.
        root = ET.fromstring(await resp.text())  # noqa: S314
        assert root.tag == "Response"
        self.bodies.append((path, body))
        self._follow(root)
        self.answers.append(root)
        return root

    def _follow(self, root: ET.Element) -> None:
        for verb in ("Gather", "Record", "Dial", "Redirect"):
            found = root.find(verb)
            if found is not None:
                self.action = found.get("action") or (found.text or "").strip() or self.action
                return

    async def start(self) -> ET.Element:
        return await self.post(ROUTE, form_of(INCOMING))

    async def press(self, digits: str) -> ET.Element:
        return await self.post(self.action, form_of(DIGITS, Digits=digits))

    async def say(self, words: str) -> ET.Element:
        return await self.post(self.action, form_of(SPEECH, SpeechResult=words))

    async def say_fixture(self) -> ET.Element:
        """The shared speech fixture as Twilio sent it: the water main at 23 Warner St."""
        return await self.post(self.action, form_of(SPEECH))

    async def silence(self) -> ET.Element:
        """actionOnEmptyResult: the action URL with neither Digits nor SpeechResult."""
        return await self.post(
            self.action, form_of(DIGITS, Digits=None, FinishedOnKey=None, msg=None)
        )

    async def retry_last(self) -> ET.Element:
        path, body = self.bodies[-1]
        self.bodies.pop()
        self.answers.pop()
        return await self.post_raw(path, body)

    async def hang_up(self, status: str = "completed") -> ET.Element:
        return await self.post(
            f"{ROUTE}?event=status", form_of(INCOMING, CallStatus=status, CallDuration="94")
        )

    async def recording(self, url: str | None = None) -> ET.Element:
        changes = {"RecordingUrl": url} if url else {}
        return await self.post(f"{ROUTE}?event=recording", form_of(RECORDING, **changes))

    async def transcription(self) -> ET.Element:
        return await self.post(f"{ROUTE}?event=transcription", form_of(TRANSCRIPTION))


def said(root: ET.Element) -> str:
    """Everything the answer says, in order, say-as characters included."""
    return " ".join(" ".join(s.itertext()) for s in root.iter("Say"))


def spelled(root: ET.Element) -> str:
    """The characters read one by one with SSML say-as."""
    return "".join(e.text or "" for e in root.iter("say-as"))


def gather(root: ET.Element) -> ET.Element:
    found = root.find("Gather")
    assert found is not None, ET.tostring(root)
    return found


async def settle(runtime: Runtime) -> None:
    """Let the intake file what the calls left, then the outbox deliver it."""
    while await runtime.intake_worker().run_once():
        pass
    worker = runtime.outbox_worker()
    while await worker.run_once():
        pass
