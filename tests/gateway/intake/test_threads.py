"""Threading end to end: our reply goes out through the outbox, the resident's answer finds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import select

from channels._mail.message import MediaLimits
from channels._mail.parse import parse_email
from gateway.config.settings import OutboxSettings
from gateway.intake.threads import find_thread
from gateway.notifiers.email import EmailNotifier
from gateway.outbox.replies import enqueue_notification
from gateway.outbox.worker import OutboxWorker
from gateway.records import InboundMessage, Notification, Reporter, ServiceRequest
from gateway.store.database import make_engine
from gateway.store.requests import insert_request
from gateway.store.schema import outbox
from gateway.store.tokens import claim_token, forget_tokens
from tests.fakes.smtp_sink import smtp_sink

RESIDENT_ID = "<first-report@example.org>"


def request(number: str = "K7M2QX") -> ServiceRequest:
    return ServiceRequest(
        id=f"req-{number}",
        tracking_number=number,
        channel="smtp",
        channel_message_id=RESIDENT_ID,
        received_at=datetime.now(UTC),
        reporter=Reporter(email="dana@example.org", address="dana@example.org"),
        description="Pothole",
        original_text="Pothole",
    )


def answer(to: str = "311@city.example", **headers: str) -> InboundMessage:
    msg = EmailMessage()
    msg["From"] = "dana@example.org"
    msg["To"] = to
    msg["Subject"] = "Re: Pothole"
    msg["Message-ID"] = "<answer@example.org>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("It is in front of number 12.")
    return parse_email(msg.as_bytes(policy=SMTP), "smtp", MediaLimits())


async def test_a_reply_to_our_mail_continues_its_request(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(database_url)
    note = Notification(
        "email", "dana@example.org", "Thanks", "confirmation", "req-K7M2QX", None,
        {"in_reply_to": RESIDENT_ID},
    )  # fmt: skip
    async with engine.begin() as conn:
        await insert_request(conn, request())
        await enqueue_notification(conn, note, key="confirmation-req-K7M2QX")
    notifier = EmailNotifier({"from_address": "311@city.example"})
    worker = OutboxWorker(engine, {}, OutboxSettings(), notifiers={"email": notifier})
    try:
        async with smtp_sink() as sink:
            monkeypatch.setenv("SMTP_RELAY_URL", sink.url)
            assert await worker.run_once() == 1
        ours = sink.received[0][1]["Message-ID"]
        async with engine.connect() as conn:
            assert (await conn.execute(select(outbox.c.remote_id))).scalar_one() == ours
            by_reply = await find_thread(conn, answer(In_Reply_To=ours))
            by_refs = await find_thread(conn, answer(References=f"<x@y.org> {ours}"))
            by_plus = await find_thread(conn, answer(to="311+k7m2qx@city.example"))
            # The sender alone links nothing: same From, no reference, no plus-address.
            by_from = await find_thread(conn, answer())
            unknown = await find_thread(conn, answer(In_Reply_To="<311gw.nope@city.example>"))
    finally:
        await engine.dispose()
    assert (by_reply, by_refs, by_plus) == ("req-K7M2QX",) * 3
    assert by_from is None and unknown is None


async def test_a_webhook_token_is_accepted_once_but_its_own_retry_again(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            assert await claim_token(conn, "mailgun", "t1", b"body", now)
            # The provider retrying the same request is no replay: it is stored once, answered.
            assert await claim_token(conn, "mailgun", "t1", b"body", now)
            assert not await claim_token(conn, "mailgun", "t1", b"another body", now)
            assert await claim_token(conn, "other", "t1", b"another body", now)
            assert await forget_tokens(conn, now + timedelta(seconds=1)) == 2
            assert await claim_token(conn, "mailgun", "t1", b"another body", now)
    finally:
        await engine.dispose()
