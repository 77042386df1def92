"""One signed call must not poison public pages: text is made valid on the way in (issue 20)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels._safe import clean_message, clean_text, json_depth, load_json, one_line
from gateway.connectors.webhook import SIGNATURE_HEADER, sign
from gateway.records import InboundMessage, Location
from gateway.runtime import Runtime
from gateway.store import requests
from tests.gateway.outbox.conftest import seed
from tests.hostile.conftest import STATUS_SECRET

Client = TestClient[Any, Any]


async def _number(runtime: Runtime) -> str:
    (request_id,) = await seed(runtime.engine, 1)
    async with runtime.engine.connect() as conn:
        request = await requests.get_request(conn, request_id)
    assert request is not None
    return request.tracking_number


@pytest.mark.parametrize("note", ["\ud800", "fixed \udfff\ud800 today", "a\x00b\x1bc"])
async def test_a_status_note_with_a_lone_surrogate_leaves_every_page_working(
    client: Client, runtime: Runtime, note: str
) -> None:
    number = await _number(runtime)
    body = json.dumps({"tracking_number": number, "status": "closed", "note": note}).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(STATUS_SECRET, body)}
    posted = await client.post("/webhooks/case-status", data=body, headers=headers)
    assert posted.status == 200, await posted.text()
    listing = await client.get("/open311/v2/requests.json")
    assert listing.status == 200, await listing.text()
    one = await client.get(f"/open311/v2/requests/{number}.json")
    assert one.status == 200, await one.text()
    (entry,) = await one.json()
    assert entry["status_notes"] == clean_text(note)
    assert "\ufffd" in entry["status_notes"] or "\x00" not in entry["status_notes"]
    xml = await client.get(f"/open311/v2/requests/{number}.xml")
    assert xml.status == 200
    page = await client.get(f"/requests/{number}")
    assert page.status == 200


def test_clean_text_leaves_no_surrogate_or_control() -> None:
    assert clean_text("a\ud800b\x00c\x7f\td\n") == "a\ufffdbc\td\n"
    assert clean_text("plain text, é and 😀") == "plain text, é and 😀"
    assert one_line("Re: x\r\nBcc: evil@example.org\u2028y") == "Re: x Bcc: evil@example.org y"


def test_json_strings_are_cleaned_and_valid_pairs_kept() -> None:
    data = load_json(b'{"a": "\\ud800", "\\udfffk": ["\\u0000x", "\\ud83d\\ude00"]}')
    assert data == {"a": "\ufffd", "\ufffdk": ["x", "😀"]}


def test_every_text_of_a_parsed_message_is_cleaned() -> None:
    message = InboundMessage(
        channel="x",
        provider_id="id\r\n1",
        sender="a@b.org\r\nBcc: c@d.org",
        text="hi \ud800",
        subject="Pothole\r\nBcc: evil@example.org",
        location=Location(address="1 Main\x00 St"),
        extra={"k\udc80": "v\x00"},
    )
    clean = clean_message(message)
    assert clean.subject == "Pothole Bcc: evil@example.org"
    assert clean.sender == "a@b.org Bcc: c@d.org"
    assert clean.text == "hi \ufffd"
    assert clean.location is not None and clean.location.address == "1 Main St"
    assert clean.extra == {"k\ufffd": "v"}
    assert clean.provider_id == "id 1"


@pytest.mark.parametrize(
    ("document", "depth"),
    [
        (b"[]", 1),
        (b'{"a": [1, {"b": "[[[[{{{{"}]}', 3),
        (b"[" * 64 + b"]" * 64, 64),
        (b"[" * 500_000 + b"]" * 500_000, 65),
        (b"[[]" * 100_000 + b"]" * 100_000, 65),
        (b'"\\"[[["', 0),
    ],
)
def test_json_depth_ignores_strings_and_stops_past_the_limit(document: bytes, depth: int) -> None:
    assert json_depth(document) == depth
