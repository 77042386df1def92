"""The whole pipeline on fixture messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.records import Declared, InboundMessage, Location, OpenRequest
from normalizer.duplicates import find_duplicate
from normalizer.normalize import NormalizerContext, normalize
from tests.normalizer.conftest import twilio_form

NOW = datetime(2025, 10, 14, 13, 0, tzinfo=UTC)


def _sms(fixture: str, declared: Declared | None = None) -> InboundMessage:
    form = twilio_form(fixture)
    return InboundMessage(
        "twilio_sms", "SM" + fixture, form["From"], form["Body"], declared=declared or Declared()
    )


async def test_pothole_sms_is_understood(ctx: NormalizerContext) -> None:
    report = await normalize(_sms("sms_inbound.form"), ctx, now=NOW)
    assert report.classification.service_code == "pothole"
    assert report.location is not None and report.location.source == "text"
    assert report.reporter.phone == "+14015550123"
    assert report.flags.needs_follow_up == ()
    assert not report.flags.emergency


async def test_missing_location_asks_for_it(ctx: NormalizerContext) -> None:
    report = await normalize(_sms("sms_needs_location.form"), ctx, now=NOW)
    assert report.location is None
    assert "location" in report.flags.needs_follow_up


async def test_gas_is_an_emergency(ctx: NormalizerContext) -> None:
    report = await normalize(_sms("sms_gas_emergency.form"), ctx, now=NOW)
    assert report.flags.emergency


async def test_spanish_message(ctx: NormalizerContext) -> None:
    report = await normalize(_sms("sms_spanish.form"), ctx, now=NOW)
    assert report.reporter.language == "es"
    assert report.original_text == twilio_form("sms_spanish.form")["Body"]


async def test_provider_location_wins(ctx: NormalizerContext) -> None:
    pin = Location(41.481604, -71.312113, source="provider", confidence=1.0)
    message = InboundMessage("twilio_sms", "SM9", "whatsapp:+14015550172", "", location=pin)
    report = await normalize(message, ctx, now=NOW)
    assert report.location == pin
    assert report.reporter.address == "whatsapp:+14015550172"


async def test_anonymous_message(ctx: NormalizerContext) -> None:
    report = await normalize(_sms("sms_inbound.form", Declared(anonymous=True)), ctx, now=NOW)
    assert report.reporter.anonymous and report.reporter.phone is None


async def test_duplicate_is_flagged(ctx: NormalizerContext) -> None:
    first = await normalize(_sms("sms_inbound.form"), ctx, now=NOW)
    assert first.location is not None and first.location.lat is not None
    assert first.location.long is not None
    open_requests = [
        OpenRequest("K7M2QX", "pothole", first.location.lat, first.location.long, NOW),
        OpenRequest("ZZZZZZ", "graffiti", first.location.lat, first.location.long, NOW),
    ]
    again = await normalize(_sms("sms_inbound.form"), ctx, open_requests=open_requests, now=NOW)
    assert again.flags.possible_duplicate_of == "K7M2QX"


def test_old_or_far_requests_are_not_duplicates() -> None:
    here = Location(41.4832, -71.3127)
    old = OpenRequest("OLD", "pothole", 41.4832, -71.3127, NOW - timedelta(days=30))
    far = OpenRequest("FAR", "pothole", 41.4900, -71.3127, NOW)
    found = find_duplicate(
        "pothole", here, [old, far], now=NOW, radius_m=75, window=timedelta(days=3)
    )
    assert found is None


async def test_zero_setup_context_still_works(bare_ctx: NormalizerContext) -> None:
    report = await normalize(_sms("sms_typo_streetlight.form"), bare_ctx, now=NOW)
    assert report.classification.service_code == "street_light"
    assert report.location is None
    assert "location" in report.flags.needs_follow_up


async def test_email_quote_is_removed(ctx: NormalizerContext) -> None:
    body = (
        "Graffiti on the wall at 15 East St.\n\n"
        "On Mon, Oct 13, 2025 Ann <a@example.org> wrote:\n> hi"
    )
    message = InboundMessage("email", "m1", "Ann <A@Example.org>", body, subject="Graffiti")
    report = await normalize(message, ctx, now=NOW)
    assert report.description == "Graffiti on the wall at 15 East St."
    assert report.reporter.email == "a@example.org"
    assert report.classification.service_code == "graffiti"
