"""The record's JSON form: exact round trip, JSON-ready values, and anonymity."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from gateway.record_json import anonymized, request_from_dict, request_to_dict
from gateway.records import Flags, Location, Media, Reporter, ServiceRequest, Status

EASTERN = timezone(timedelta(hours=-4))


def full_request(**changes: Any) -> ServiceRequest:
    request = ServiceRequest(
        id="req-1",
        tracking_number="K7M2QX",
        channel="twilio_sms",
        channel_message_id="SM0123",
        received_at=datetime(2025, 10, 14, 9, 2, 41, 123456, tzinfo=EASTERN),
        reporter=Reporter(
            name="Sam Rivera",
            phone="+14015550123",
            email="sam.rivera@example.com",
            address="whatsapp:+14015550123",
            language="es",
        ),
        description="Bache grande en Spring St.",
        original_text="Hola, soy Sam Rivera, hay un bache grande en Spring St.",
        service_code="pothole",
        service_name="Pothole",
        service_confidence=0.81,
        attributes={"SIZE": "large", "NEAR": ["manhole"], "DEPTH_IN": 5, "NOTE": None},
        location=Location(41.483207, -71.312674, "280 Spring St", "02840", "text", 0.75),
        media=(Media("image/jpeg", "https://m.example.org/1.jpg", "var/media/1.jpg", 10, "ab"),),
        flags=Flags(emergency=True, possible_duplicate_of="H4TL9P", needs_follow_up=("location",)),
        status=Status.SUBMITTED,
        case_id="NPT-2025-041873",
        updated_at=datetime(2025, 10, 14, 13, 5, 0, tzinfo=UTC),
    )
    return dataclasses.replace(request, **changes)


def test_round_trip_is_exact_through_json_text() -> None:
    request = full_request()
    text = json.dumps(request_to_dict(request))
    assert request_from_dict(json.loads(text)) == request


def test_minimal_request_round_trips() -> None:
    request = full_request(
        location=None, media=(), attributes={}, flags=Flags(), case_id=None, updated_at=None
    )
    assert request_from_dict(json.loads(json.dumps(request_to_dict(request)))) == request


def test_values_are_json_ready_with_utc_z_datetimes_and_string_status() -> None:
    data = request_to_dict(full_request())
    assert data["received_at"] == "2025-10-14T13:02:41.123456Z"
    assert data["updated_at"] == "2025-10-14T13:05:00Z"
    assert data["status"] == "submitted"
    assert type(data["status"]) is str
    assert data["reporter"]["phone"] == "+14015550123"
    assert data["location"]["zipcode"] == "02840"
    assert data["media"][0]["sha256"] == "ab"
    assert data["flags"]["needs_follow_up"] == ["location"]
    assert data["attributes"]["NEAR"] == ["manhole"]


def test_anonymous_reporter_contact_never_appears() -> None:
    request = full_request(
        reporter=dataclasses.replace(full_request().reporter, anonymous=True),
        attributes={"CALLBACK": "sam.rivera@example.com", "NEAR": ["call +14015550123"]},
    )
    data = request_to_dict(request)
    text = json.dumps(data)
    for secret in ("+14015550123", "sam.rivera@example.com", "Sam Rivera", "whatsapp:"):
        assert secret not in text
    assert data["reporter"] == {
        "name": None,
        "phone": None,
        "email": None,
        "address": None,
        "anonymous": True,
        "language": "es",
    }
    assert "bache grande en Spring St." in data["original_text"]


def test_anonymous_round_trip_gives_the_anonymized_request() -> None:
    request = full_request(reporter=dataclasses.replace(full_request().reporter, anonymous=True))
    back = request_from_dict(json.loads(json.dumps(request_to_dict(request))))
    assert back == anonymized(request)
    assert back.reporter == Reporter(anonymous=True, language="es")


def test_named_reporter_text_is_left_alone() -> None:
    request = full_request()
    assert request_to_dict(request)["original_text"] == request.original_text
