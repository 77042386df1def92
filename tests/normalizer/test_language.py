"""Language among the configured ones, on short and mixed texts."""

from __future__ import annotations

import pytest

from gateway.records import Service
from normalizer.language import build_language_model, detect_language
from tests.normalizer.conftest import twilio_form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hay un bache enorme en la calle spring", "es"),
        ("bache grande", "es"),
        ("Farola apagada en Spring St", "es"),
        ("no recogieron la basura 🙁", "es"),
        ("Streetlight out", "en"),
        ("pothole on Spring St", "en"),
        ("🚧🕳️ HUGE pothole on Ann St near #30", "en"),
        ("streetlite out in frnt of my store", "en"),
        ("", "en"),
    ],
)
def test_detect_language(text: str, expected: str, catalog: tuple[Service, ...]) -> None:
    model = build_language_model(("en", "es"), catalog)
    assert detect_language(text, model) == expected


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [("sms_spanish.form", "es"), ("whatsapp_text.form", "es"), ("sms_inbound.form", "en")],
)
def test_fixtures(fixture: str, expected: str, catalog: tuple[Service, ...]) -> None:
    model = build_language_model(("en", "es"), catalog)
    assert detect_language(twilio_form(fixture)["Body"], model) == expected


def test_single_language_city_never_detects(catalog: tuple[Service, ...]) -> None:
    model = build_language_model(("es",), catalog)
    assert detect_language("pothole on Spring St", model) == "es"
