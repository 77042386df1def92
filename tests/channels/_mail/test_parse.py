"""Parsing mail: text, photos, verdicts, loop marks; never an exception other than a reason."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from channels._mail.message import MediaLimits
from channels._mail.parse import parse_email
from gateway.errors import MalformedPayload
from gateway.records import InboundMessage, MailThread
from tests.channels.conftest import EMAILS

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


def mail(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Dana <dana@example.org>"
    msg["To"] = "311@city.example"
    msg["Subject"] = "Pothole"
    msg["Message-ID"] = "<m1@example.org>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("There is a pothole at 12 Elm St.")
    return msg


def parse(
    msg: EmailMessage, *, envelope_from: str | None = None, envelope_to: Sequence[str] = ()
) -> InboundMessage:
    raw = msg.as_bytes(policy=SMTP)
    return parse_email(
        raw, "smtp", MediaLimits(), envelope_from=envelope_from, envelope_to=envelope_to
    )


@pytest.mark.parametrize("case", EMAILS, ids=lambda p: p.stem)
def test_every_sample_parses_or_gives_a_reason(case: Path) -> None:
    try:
        message = parse_email(case.read_bytes(), "smtp", MediaLimits())
    except MalformedPayload as exc:
        assert exc.reason
        return
    assert "@" in message.sender
    assert 0 < len(message.provider_id) <= 255
    assert message.text or message.subject or message.media
    # Everything stored must be encodable as UTF-8 (PostgreSQL JSON).
    thread = message.thread or MailThread()
    strings = [*thread.in_reply_to, *thread.references, thread.plus_tag, message.auto_reply]
    for value in (message.text, message.subject or "", *message.extra.values(), *strings):
        value.encode("utf-8")


def test_a_plain_report_is_read() -> None:
    message = parse(mail())
    assert (message.provider_id, message.sender, message.subject) == (
        "<m1@example.org>",
        "dana@example.org",
        "Pothole",
    )
    assert message.text == "There is a pothole at 12 Elm St."
    assert message.extra["from_name"] == "Dana"
    assert message.auto_reply == ""


def test_html_only_mail_becomes_text() -> None:
    msg = mail()
    msg.set_content("<html><body><p>Streetlight out</p><p>on Oak Ave</p></body></html>", "html")
    text = parse(msg).text
    assert "Streetlight out" in text and "<p>" not in text


def test_photos_are_media_within_the_limits() -> None:
    msg = mail()
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="a.jpg")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(JPEG * 10, maintype="image", subtype="jpeg", filename="big.jpg")
    limits = MediaLimits(max_bytes=1000)
    message = parse_email(msg.as_bytes(), "smtp", limits)
    assert [(m.content_type, m.size) for m in message.media] == [("image/jpeg", len(JPEG))]
    assert message.media[0].sha256 and len(message.media[0].sha256) == 64
    assert message.extra["attachments_skipped"] == "2"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto-submitted"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"Precedence": "junk"}, "bulk"),
        ({"X_Autoreply": "yes"}, "auto-reply"),
        ({"List_Id": "<news.example.org>"}, "list"),
        ({"X_311_Gateway": "1"}, "own"),
    ],
)
def test_machine_mail_is_marked_never_to_answer(headers: dict[str, str], reason: str) -> None:
    message = parse(mail(**headers))
    assert message.auto_reply == reason


def test_out_of_office_and_bounces_and_our_own_ids_are_marked() -> None:
    ooo = mail()
    ooo.replace_header("Subject", "Out of Office: back Monday")
    assert parse(ooo).auto_reply == "auto-reply"
    assert parse(mail(), envelope_from="").auto_reply == "bounce"
    own = mail()
    own.replace_header("Message-ID", "<311gw.abc@city.example>")
    assert parse(own).auto_reply == "own"
    assert parse(mail(Auto_Submitted="no")).auto_reply == ""


def test_thread_hints_and_verdicts_are_kept() -> None:
    message = parse(
        mail(
            In_Reply_To="<311gw.1@city.example>",
            References="<a@x.org> <311gw.1@city.example>",
            Authentication_Results="mx.city.example; spf=pass smtp.mailfrom=x; dkim=fail",
        ),
        envelope_to=["311+k7m2qx@city.example"],
    )
    assert message.thread is not None
    assert message.thread.in_reply_to == ("<311gw.1@city.example>",)
    assert message.thread.references == ("<a@x.org>", "<311gw.1@city.example>")
    assert message.thread.plus_tag == "K7M2QX"
    assert (message.extra["spf"], message.extra["dkim"]) == ("pass", "fail")


def test_mail_without_message_id_gets_a_stable_id() -> None:
    msg = mail()
    del msg["Message-ID"]
    first, again = parse(msg), parse(msg)
    assert first.provider_id == again.provider_id
    assert first.provider_id.startswith("sha256:")


def test_mail_without_any_sender_is_malformed() -> None:
    msg = mail()
    del msg["From"]
    with pytest.raises(MalformedPayload, match="sender"):
        parse(msg)
    assert parse(msg, envelope_from="dana@example.org").sender == "dana@example.org"
