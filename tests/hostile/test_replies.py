"""Our replies: no header injection, no backscatter, no notification stuck for ever (issue 20)."""

from __future__ import annotations

import asyncio
import smtplib

import pytest

from channels._mail.headers import Headers
from channels._mail.loops import no_reply_reason
from channels._mail.message import MailParts, MediaLimits, build_message
from gateway.errors import PermanentDeliveryError
from gateway.ingest.smtp import start_smtp
from gateway.notifiers.email import EmailNotifier
from gateway.outbox import jobs
from gateway.records import NO_REPLY, Notification
from gateway.runtime import Runtime
from tests.fakes.smtp_sink import smtp_sink


def notifier() -> EmailNotifier:
    return EmailNotifier({"from_address": "311@city.example", "from_name": "City 311"})


def note(body: str = "Thanks: report H4TL9P.", **fields: str) -> Notification:
    thread = {"in_reply_to": "<m1@example.org>", "tracking_number": "H4TL9P"}
    return Notification(
        channel="email",
        to=fields.pop("to", "luis@example.com"),
        body=body,
        purpose="confirmation",
        request_id="r1",
        subject=fields.pop("subject", None),
        thread={**thread, **fields},
    )


@pytest.mark.parametrize(
    "subject",
    ["Pothole\r\nBcc: evil@example.org", "Pothole\nBcc: evil@example.org", "P\u2028Bcc: e@x.org"],
)
async def test_a_subject_with_cr_lf_adds_no_header_to_our_reply(
    monkeypatch: pytest.MonkeyPatch, subject: str
) -> None:
    async with smtp_sink() as sink:
        monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
        await notifier().send(note(subject=subject), "k1")
        await notifier().send(note(**{"subject": subject}), "k2")
        await notifier().send(note(to="luis@example.com\r\nBcc: evil@example.org"), "k3")
    assert len(sink.received) == 3
    for envelope, mail in sink.received:
        assert "Bcc" not in mail
        assert envelope.rcpt_tos == ["luis@example.com"] or "evil" not in str(envelope.rcpt_tos)
        assert "\n" not in str(mail["Subject"]) and "\r" not in str(mail["Subject"])


@pytest.mark.parametrize("body", ["fixed \ud800 today", "a\udfffb"])
async def test_a_body_with_a_lone_surrogate_is_sent_cleaned(
    monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    async with smtp_sink() as sink:
        monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
        await notifier().send(note(body=body), "k1")
    (_, mail) = sink.received[0]
    assert "\ufffd" in mail.get_content()


async def test_a_reply_that_cannot_be_composed_is_permanent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with smtp_sink() as sink:
        monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
        with pytest.raises(PermanentDeliveryError):
            await notifier().send(note(to="not an address at all <<>>@@"), "k1")


@pytest.mark.parametrize(
    ("sender", "envelope", "verdicts", "reason"),
    [
        ("dana@example.org", "", {}, "null sender"),
        ("no-reply@example.org", None, {}, "role sender"),
        ("MAILER-DAEMON@example.org", None, {}, "role sender"),
        ("postmaster@example.org", None, {}, "role sender"),
        ("dana@example.org", None, {"spf": "fail"}, "spf failed"),
        ("dana@example.org", None, {"spf": "pass", "dmarc": "fail"}, "dmarc failed"),
        ("dana@example.org", None, {"dkim": "fail", "spf": "softfail"}, "spf/dkim failed"),
        ("dana@example.org", None, {"spf": "pass", "dkim": "pass"}, ""),
        ("noreen@example.org", "noreen@example.org", {}, ""),
    ],
)
def test_who_gets_no_automatic_mail(
    sender: str, envelope: str | None, verdicts: dict[str, str], reason: str
) -> None:
    assert no_reply_reason(sender, envelope, verdicts) == reason


def test_a_forged_from_is_marked_no_reply_on_the_way_in() -> None:
    headers = Headers(
        [
            ("From", "victim@forged.example"),
            ("Subject", "Pothole"),
            ("Message-ID", "<f1@forged.example>"),
            ("Authentication-Results", "mx.city.example; spf=fail; dmarc=fail"),
        ]
    )
    parts = MailParts(headers=headers, text="A pothole at 280 Spring St")
    message = build_message("smtp", parts, MediaLimits.from_options({}), b"raw")
    assert message.extra[NO_REPLY] == "spf/dmarc failed"


def _mail(sender: str, message_id: str, auth: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: 311@localhost\r\nSubject: Pothole\r\nMessage-ID: {message_id}\r\n"
        f"Authentication-Results: mx.city.example; {auth}\r\n\r\n"
        "Deep pothole in front of 280 Spring St\r\n"
    ).encode()


async def test_no_confirmation_goes_to_a_forged_or_role_sender(runtime: Runtime) -> None:
    await runtime.writer.start()
    listener = await start_smtp(runtime, "127.0.0.1", 0)
    try:
        for sender, mid, auth in [
            ("victim@forged.example", "<f1@forged.example>", "spf=fail; dmarc=fail"),
            ("no-reply@shop.example", "<f2@shop.example>", "spf=pass; dkim=pass"),
            ("dana@example.org", "<ok@example.org>", "spf=pass; dkim=pass; dmarc=pass"),
        ]:
            await asyncio.to_thread(_send, listener.port, sender, _mail(sender, mid, auth))
        while await runtime.intake_worker().run_once():
            pass
        notes = await jobs.list_jobs(runtime.engine, kind=jobs.NOTIFY)
    finally:
        listener.close()
        await runtime.writer.stop()
        await runtime.close()
    assert [n.payload["to"] for n in notes] == ["dana@example.org"]


def _send(port: int, sender: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail(sender, ["311@localhost"], raw)
