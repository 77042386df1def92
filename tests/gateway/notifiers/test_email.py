"""The email notifier, sending through a real aiosmtpd relay on loopback."""

from __future__ import annotations

import pytest

from gateway.errors import PermanentDeliveryError, TransientDeliveryError
from gateway.notifiers.email import EmailNotifier
from gateway.records import LOOP_HEADER, Notification
from tests.fakes.smtp_sink import smtp_sink

RESIDENT_ID = "<CAK9fLm2v7Qe3=resident@mail.example.com>"


def notifier() -> EmailNotifier:
    return EmailNotifier({"from_address": "311@city.example", "from_name": "City 311"})


def note(**thread: str) -> Notification:
    return Notification(
        channel="email",
        to="luis@example.com",
        body="Gracias: recibimos su reporte. Número de seguimiento H4TL9P.",
        purpose="confirmation",
        request_id="r1",
        thread={"in_reply_to": RESIDENT_ID, **thread},
    )


async def test_the_reply_threads_under_the_residents_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    async with smtp_sink() as sink:
        monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
        thread = {"subject": "Bache en Spring St", "tracking_number": "H4TL9P", "language": "es"}
        provider_id = await notifier().send(note(**thread), "notify-email-confirmation-r1")
    (envelope, mail) = sink.received[0]
    assert envelope.rcpt_tos == ["luis@example.com"]
    assert mail["In-Reply-To"] == RESIDENT_ID
    assert mail["References"] == RESIDENT_ID
    assert mail["Subject"] == "Re: Bache en Spring St"
    assert mail["Message-ID"] == provider_id
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail[LOOP_HEADER] == "1"
    assert mail["Reply-To"] == "311+H4TL9P@city.example"
    assert mail["Content-Language"] == "es"
    assert mail["From"] == "City 311 <311@city.example>"
    assert mail.get_content().strip() == note().body


async def test_a_retry_carries_the_same_message_id(monkeypatch: pytest.MonkeyPatch) -> None:
    async with smtp_sink() as sink:
        monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
        first = await notifier().send(note(), "notify-email-status-r1-open")
        again = await notifier().send(note(), "notify-email-status-r1-open")
        other = await notifier().send(note(), "notify-email-status-r1-closed")
    assert first == again != other
    assert [m["Message-ID"] for _, m in sink.received] == [first, first, other]
    assert first is not None and first.endswith("@city.example>")


async def test_without_a_subject_or_parent_it_still_reads_well(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = Notification("email", "a@example.org", "Closed.", "status", thread={})
    async with smtp_sink() as sink:
        monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
        await notifier().send(bare, "k")
    mail = sink.received[0][1]
    assert mail["Subject"] == "Your 311 request"
    assert mail["In-Reply-To"] is None


async def test_no_relay_means_the_mail_waits_in_the_outbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMTP_RELAY_URL", raising=False)
    with pytest.raises(TransientDeliveryError, match="waits in the outbox"):
        await notifier().send(note(), "k")


@pytest.mark.parametrize(
    ("answer", "error"),
    [("451 4.3.0 try later", TransientDeliveryError), ("554 5.7.1 no", PermanentDeliveryError)],
)
async def test_relay_refusals_are_transient_or_permanent_by_code(
    monkeypatch: pytest.MonkeyPatch, answer: str, error: type[Exception]
) -> None:
    async with smtp_sink(answer=answer) as sink:
        monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
        with pytest.raises(error):
            await notifier().send(note(), "k")


async def test_a_dead_relay_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    async with smtp_sink() as sink:
        url = sink.url
    monkeypatch.setenv("SMTP_RELAY_URL", url)
    with pytest.raises(TransientDeliveryError):
        await notifier().send(note(), "k")
