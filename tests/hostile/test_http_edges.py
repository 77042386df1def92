"""What happens before or around our handlers: Expect: 100-continue, and what libraries log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.log import configure

Client = TestClient[Any, Any]
PHONE = "+14015550142"


async def _exchange(client: Client, request: bytes, wait: float = 2.0) -> bytes:
    """Send raw bytes to the served app; what it answers within ``wait`` seconds."""
    assert client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), wait)
    finally:
        writer.close()


@pytest.mark.parametrize("path", ["/webhooks/email/postmark", "/webhooks/twilio/sms", "/report"])
async def test_expect_100_continue_with_50_mb_is_413_without_continue(
    client: Client, path: str
) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 52428800\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    answer = await _exchange(client, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert b"100 Continue" not in answer
    assert b'"payload_too_large"' in answer


async def test_expect_100_continue_within_the_limit_continues(client: Client) -> None:
    head = (
        b"POST /webhooks/email/postmark HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    )
    answer = await _exchange(client, head, wait=1.0)
    assert answer.startswith(b"HTTP/1.1 100 Continue")


@contextmanager
def json_logs() -> Iterator[None]:
    """The gateway's own log configuration (on the stderr of now), put back for pytest."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure("DEBUG")
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_a_library_traceback_quoting_a_body_is_cut_to_its_type(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with json_logs():
        try:
            raise ValueError(f"Invalid header value char: b'From={PHONE}&Body=dana@example.org'")
        except ValueError:
            logging.getLogger("aiohttp.server").exception("Error handling request %s", PHONE)
        logging.getLogger("gateway.web.app").info("ours", extra={"x": 1})
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines()]
    library, ours = lines
    assert library["event"] == "Error handling request ***0142 (ValueError)"
    assert "exc" not in library
    assert ours["event"] == "ours" and ours["x"] == 1


async def test_malformed_http_logs_no_body_and_no_traceback(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = (
        b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9\r\n"
        b"X-Bad: \x01" + PHONE.encode() + b"\r\n\r\nBody=" + PHONE.encode()
    )
    with json_logs():
        answer = await _exchange(client, bad)
    assert answer.split(b" ", 2)[1] == b"400"
    err = capsys.readouterr().err
    assert PHONE not in err
    assert "Traceback" not in err
