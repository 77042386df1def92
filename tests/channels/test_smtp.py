"""The SMTP listener, spoken to by smtplib over loopback: store first, then 250."""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest

from gateway.ingest.smtp import start_smtp
from gateway.runtime import Runtime
from tests.channels.conftest import EMAILS, inbound_rows
from tests.conftest import SHARED_DATA
from tests.support import folder_only, make_settings, merge

RESIDENT = "dana.resident@example.org"


def smtp_options(**extra: Any) -> dict[str, Any]:
    table = {"enabled": True, "domains": ["localhost", "city.example"], **extra}
    return {"channels": {"smtp": table}}


@pytest.fixture
def channel_config() -> dict[str, Any]:
    return smtp_options(max_message_bytes=200_000)


@asynccontextmanager
async def listening(runtime: Runtime) -> AsyncIterator[int]:
    listener = await start_smtp(runtime, "127.0.0.1", 0)
    try:
        yield listener.port
    finally:
        listener.close()
        await runtime.writer.stop()
        await runtime.close()


async def talk(port: int, conversation: Callable[[smtplib.SMTP], Any]) -> Any:
    """Run a blocking smtplib conversation against the listener without blocking its loop."""

    def run() -> Any:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            return conversation(client)

    return await asyncio.to_thread(run)


def report(message_id: str = "<report-1@example.org>", body: str = "Pothole at 12 Elm St") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Dana <{RESIDENT}>"
    msg["To"] = "311@localhost"
    msg["Subject"] = "Pothole"
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def on_the_wire(path: Path) -> bytes:
    """A sample file as an MTA sends it: CRLF line ends."""
    return re.sub(rb"\r?\n", b"\r\n", path.read_bytes())


async def test_mail_to_a_311_address_is_stored_then_answered_250(runtime: Runtime) -> None:
    async with listening(runtime) as port:
        refused = await talk(port, lambda c: c.sendmail(RESIDENT, ["311@localhost"], report()))
        stored = await inbound_rows(runtime)
    assert refused == {}
    assert len(stored) == 1
    row = stored[0]
    assert (row.channel, row.provider_id, row.state) == (
        "smtp",
        "<report-1@example.org>",
        "received",
    )
    assert row.message["sender"] == RESIDENT
    assert row.message["text"] == "Pothole at 12 Elm St"
    assert row.message["subject"] == "Pothole"
    assert row.headers["x-smtp-mail-from"] == RESIDENT
    assert row.headers["x-smtp-rcpt-to"] == "311@localhost"


async def test_other_domains_are_refused_550_so_we_are_never_a_relay(runtime: Runtime) -> None:
    def conversation(client: smtplib.SMTP) -> tuple[int, int]:
        client.ehlo()
        client.mail(RESIDENT)
        return client.rcpt("victim@elsewhere.example")[0], client.rcpt("311@city.example")[0]

    async with listening(runtime) as port:
        codes = await talk(port, conversation)
        stored = await inbound_rows(runtime)
    assert codes == (550, 250)
    assert stored == []


async def test_mail_over_the_size_limit_is_refused_552(runtime: Runtime) -> None:
    big = report(body="a line of a long complaint\n" * 12_000)

    def conversation(client: smtplib.SMTP) -> int:
        client.ehlo()
        client.mail(RESIDENT)
        client.rcpt("311@localhost")
        return client.data(big)[0]

    async with listening(runtime) as port:
        code = await talk(port, conversation)
        stored = await inbound_rows(runtime)
    assert code == 552
    assert stored == []


async def test_a_redelivered_message_id_is_stored_once(runtime: Runtime) -> None:
    async with listening(runtime) as port:
        for _ in range(2):
            await talk(port, lambda c: c.sendmail(RESIDENT, ["311@localhost"], report()))
        stored = await inbound_rows(runtime)
    assert len(stored) == 1


async def test_storage_failure_is_451_so_the_sender_retries(runtime: Runtime) -> None:
    def conversation(client: smtplib.SMTP) -> int:
        client.ehlo()
        client.mail(RESIDENT)
        client.rcpt("311@localhost")
        return client.data(report())[0]

    async with listening(runtime) as port:
        await runtime.writer.stop()
        code = await talk(port, conversation)
    assert code == 451


async def test_unreadable_mail_is_kept_for_staff_and_answered_554(runtime: Runtime) -> None:
    empty = b"To: 311@localhost\r\nMessage-ID: <empty@example.org>\r\n\r\n"

    def conversation(client: smtplib.SMTP) -> int:
        client.ehlo()
        client.mail("<>")
        client.rcpt("311@localhost")
        return client.data(empty)[0]

    async with listening(runtime) as port:
        code = await talk(port, conversation)
        stored = await inbound_rows(runtime)
    assert code == 554
    assert [r.state for r in stored] == ["unparsed"]
    assert stored[0].raw_body.startswith(b"To: 311@localhost")


async def test_a_bounce_is_stored_but_marked_never_to_answer(runtime: Runtime) -> None:
    bounce = on_the_wire(SHARED_DATA / "emails" / "flanker__bounce-mailbox-full.eml")
    async with listening(runtime) as port:
        await talk(port, lambda c: c.sendmail("", ["311@localhost"], bounce))
        stored = await inbound_rows(runtime)
    assert stored[0].message["auto_reply"] == "bounce"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_starttls_is_offered_when_a_certificate_is_configured(
    tmp_path: Path, database_url: str
) -> None:
    cert, key = make_certificate(tmp_path)
    overrides = merge(folder_only(tmp_path), smtp_options(tls_cert=str(cert), tls_key=str(key)))
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    trust = ssl.create_default_context(cafile=str(cert))
    trust.check_hostname = False

    def conversation(client: smtplib.SMTP) -> tuple[bool, dict[str, Any]]:
        client.ehlo()
        offered = client.has_extn("starttls")
        client.starttls(context=trust)
        client.ehlo()
        return offered, client.sendmail(RESIDENT, ["311@localhost"], report())

    async with listening(runtime) as port:
        offered, refused = await talk(port, conversation)
        stored = await inbound_rows(runtime)
    assert offered and refused == {}
    assert len(stored) == 1


@pytest.mark.parametrize("case", EMAILS, ids=lambda p: p.stem)
async def test_every_sample_mail_is_stored_and_parsed_or_flagged(
    runtime: Runtime, case: Path
) -> None:
    raw = on_the_wire(case)

    def conversation(client: smtplib.SMTP) -> int:
        client.ehlo()
        client.mail(RESIDENT)
        client.rcpt("311@localhost")
        return client.data(raw)[0]

    async with listening(runtime) as port:
        code = await talk(port, conversation)
        stored = await inbound_rows(runtime)
    assert len(stored) == 1
    expected = {"received": 250, "unparsed": 554}
    assert code == expected[stored[0].state]
    if stored[0].state == "received":
        assert stored[0].message["sender"]
    else:
        assert stored[0].error


async def test_a_draining_listener_turns_new_and_idle_sessions_away_and_lets_mail_finish(
    runtime: Runtime,
) -> None:
    listener = await start_smtp(runtime, "127.0.0.1", 0)
    port = listener.port

    def in_transaction() -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
        client.ehlo("mx.example.org")
        client.mail(RESIDENT)
        client.rcpt("311@city.example")
        return client

    def idle() -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
        client.ehlo("mx.example.org")
        return client

    def greeting() -> int:
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=10).quit()
        except smtplib.SMTPConnectError as exc:
            return exc.smtp_code
        return 220

    def noop(client: smtplib.SMTP) -> int:
        try:
            return client.noop()[0]
        except smtplib.SMTPServerDisconnected:
            return 0

    try:
        sending = await asyncio.to_thread(in_transaction)
        waiting = await asyncio.to_thread(idle)
        draining = asyncio.create_task(listener.drain(30))
        await asyncio.sleep(0.2)
        # A new session is told to come back later; so is one that had nothing under way.
        assert await asyncio.to_thread(greeting) == 421
        assert await asyncio.to_thread(noop, waiting) in (421, 0)
        assert not draining.done()  # a mail transaction is still under way
        code, answer = await asyncio.to_thread(sending.data, report())
        assert code == 250, answer
        await asyncio.to_thread(sending.quit)
        await asyncio.wait_for(draining, 5)
        assert len(await inbound_rows(runtime)) == 1
    finally:
        listener.close()
        await runtime.writer.stop()
        await runtime.close()
