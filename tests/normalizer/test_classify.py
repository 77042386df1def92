"""Category: keywords alone and the trained model, into the catalog's codes."""

from __future__ import annotations

import pytest

from gateway.records import Service
from normalizer.classify import build_classifier, classify, map_labels
from normalizer.keywords import build_keyword_index, keyword_scores
from normalizer.pipeline import NormalizerContext
from tests.normalizer.conftest import twilio_form


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("big hole in the road in front of 280 spring st, almost lost a tire", "pothole"),
        ("streetlite out in frnt of my store", "street_light"),
        ("Graffitti all over the wall 😡", "graffiti"),
        ("hay un bache enorme", "pothole"),
        ("no recogieron la basura el lunes", "trash_missed"),
        ("dead raccoon in the road", "dead_animal"),
    ],
)
def test_keywords_alone(text: str, code: str, catalog: tuple[Service, ...]) -> None:
    assert keyword_scores(text, build_keyword_index(catalog))[0][0] == code


def test_history_categories_map_by_alias(catalog: tuple[Service, ...]) -> None:
    mapped = map_labels(["Pothole Issue", "Snow Issue", "Unknown Thing"], catalog)
    assert mapped == {"Pothole Issue": "pothole", "Snow Issue": "snow_ice"}


def test_no_keyword_no_service(catalog: tuple[Service, ...]) -> None:
    result = classify("hello?", build_classifier(catalog, None, threshold=0.5, keyword_weight=1))
    assert result.service_code is None
    assert result.low_confidence


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("sms_inbound.form", "pothole"),
        ("sms_typo_streetlight.form", "street_light"),
        ("sms_emoji_unicode.form", "pothole"),
        ("whatsapp_text.form", "pothole"),
    ],
)
def test_model_and_keywords_on_fixtures(fixture: str, code: str, ctx: NormalizerContext) -> None:
    result = classify(twilio_form(fixture)["Body"], ctx.classifier)
    assert result.service_code == code
    assert len(result.top) == 3
    assert result.top[0][1] >= result.top[1][1] >= result.top[2][1]
