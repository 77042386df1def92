"""MIME bombs: mail nested very deep or of thousands of parts is stored raw and flagged (issue 20).

Over SMTP (smtplib against our listener) the answer is 554, never ``500 Error: (RecursionError)``;
over SendGrid's raw mode it is a 400; and the event loop is never blocked for long meanwhile.
"""

from __future__ import annotations

import asyncio
import smtplib
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from channels._safe import MAX_MIME_PARTS, check_mime
from gateway.errors import MalformedPayload
from gateway.ingest.smtp import start_smtp
from gateway.runtime import Runtime
from tests.channels.conftest import inbound_rows
from tests.channels.email_webhooks import basic_auth

Client = TestClient[Any, Any]
HEAD = b"From: r@example.org\r\nTo: 311@localhost\r\nSubject: deep\r\nMessage-ID: <deep@x>\r\n"


def nested(levels: int) -> bytes:
    """A message whose multipart containers nest ``levels`` deep."""
    body = b"text/plain body\r\n"
    for level in reversed(range(levels)):
        boundary = b"b%d" % level
        body = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n--' + boundary
            + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    return HEAD + b"MIME-Version: 1.0\r\n" + body


def many_parts(count: int) -> bytes:
    parts = b"".join(
        b"--x\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(count)
    )
    return (
        HEAD
        + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n'
        + (parts + b"--x--\r\n")
    )


def test_the_shape_check_refuses_deep_and_wide_mail_and_passes_normal_mail() -> None:
    check_mime(nested(5))
    check_mime(many_parts(50))
    with pytest.raises(MalformedPayload, match="nests"):
        check_mime(nested(3000))
    with pytest.raises(MalformedPayload, match="parts"):
        check_mime(many_parts(MAX_MIME_PARTS + 1))


async def _send(port: int, raw: bytes) -> tuple[int, bytes]:
    def run() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail("r@example.org")
            smtp.rcpt("311@localhost")
            code, answer = smtp.data(raw)
            return code, answer

    return await asyncio.to_thread(run)


@pytest.mark.parametrize(
    "raw", [nested(3000), nested(200), many_parts(3000)], ids=["3000", "200", "wide"]
)
async def test_a_mime_bomb_over_smtp_is_554_and_kept_for_staff(
    runtime: Runtime, raw: bytes
) -> None:
    listener = await start_smtp(runtime, "127.0.0.1", 0)
    try:
        code, answer = await _send(listener.port, raw)
        rows = await inbound_rows(runtime)
    finally:
        listener.close()
        await runtime.writer.stop()
        await runtime.close()
    assert code == 554, answer
    assert [r.state for r in rows] == ["unparsed"]


async def test_deep_mail_just_within_the_limit_is_read(runtime: Runtime) -> None:
    listener = await start_smtp(runtime, "127.0.0.1", 0)
    try:
        code, answer = await _send(listener.port, nested(20))
        rows = await inbound_rows(runtime)
    finally:
        listener.close()
        await runtime.writer.stop()
        await runtime.close()
    assert code == 250, answer
    assert [r.state for r in rows] == ["received"]


async def test_sendgrid_raw_of_3000_parts_is_400_and_health_answers_meanwhile(
    client: Client,
) -> None:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("envelope", '{"to": ["311@parse.city.example"], "from": "r@example.org"}')
    form.add_field("email", many_parts(3000), content_type="text/plain")
    started = time.perf_counter()
    posted = asyncio.ensure_future(
        client.post("/webhooks/email/sendgrid", data=form, headers=basic_auth())
    )
    health = await client.get("/healthz")
    assert health.status == 200
    response = await posted
    assert response.status == 400, await response.text()
    assert time.perf_counter() - started < 2.0
