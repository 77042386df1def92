"""Contacts: E.164 phones, lower-cased emails, anonymous reporters carry nothing."""

from __future__ import annotations

import pytest

from gateway.records import Declared, InboundMessage
from normalizer.contact import build_reporter, normalize_email, normalize_phone
from tests.normalizer.conftest import twilio_form


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14015550123", "+14015550123"),
        ("(401) 555-0123", "+14015550123"),
        ("401.555.0123", "+14015550123"),
        ("whatsapp:+14015550172", "+14015550172"),
        ("+52 55 1234 5678", "+525512345678"),
        ("not a phone", None),
        ("12", None),
    ],
)
def test_normalize_phone(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw, "US") == expected


def test_region_decides_numbers_without_country_code() -> None:
    assert normalize_phone("55 1234 5678", "MX") == "+525512345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ana <Ana.Lopez@Example.ORG>", "ana.lopez@example.org"),
        (" resident@example.com ", "resident@example.com"),
        ("nobody", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_whatsapp_reporter_keeps_scheme_in_reply_address() -> None:
    form = twilio_form("whatsapp_text.form")
    message = InboundMessage(
        "twilio_sms", "SM1", form["From"], form["Body"], sender_name=form["ProfileName"]
    )
    reporter = build_reporter(message, "es")
    assert reporter.phone == "+14015550185"
    assert reporter.address == "whatsapp:+14015550185"
    assert reporter.name == "Joaquín"
    assert reporter.language == "es"


def test_email_reporter() -> None:
    message = InboundMessage("email", "m1", "Ana Lopez <ANA@example.org>", "hi")
    reporter = build_reporter(message, "en")
    assert (reporter.email, reporter.address, reporter.name) == (
        "ana@example.org",
        "ana@example.org",
        "Ana Lopez",
    )
    assert reporter.phone is None


def test_anonymous_reporter_carries_no_contact() -> None:
    message = InboundMessage(
        "twilio_sms", "SM2", "+14015550123", "pothole", declared=Declared(anonymous=True, name="Bo")
    )
    reporter = build_reporter(message, "en")
    assert reporter.anonymous
    assert (reporter.name, reporter.phone, reporter.email, reporter.address) == (None,) * 4


def test_a_chat_user_id_is_an_address_not_a_phone() -> None:
    # libphonenumber reads +12147483697 in Slack's classic example user id.
    assert normalize_phone("U2147483697", "US") == "+12147483697"
    reporter = build_reporter(InboundMessage("slack", "T1:D1:1.0", "U2147483697", "hi"), "en")
    assert (reporter.phone, reporter.address) == (None, "U2147483697")
