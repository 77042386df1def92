"""Keywords alone (a city with no history yet): what the words say of the problem, not of the
place, and how sure one word can make us."""

from __future__ import annotations

import pytest

from gateway.config.catalog import load_catalog
from normalizer.classify import build_classifier, classify
from normalizer.keywords import build_keyword_index, keyword_hits, phrase_specificity
from tests.conftest import REPO_ROOT

CATALOG = load_catalog(REPO_ROOT / "config" / "services.toml")
KEYWORDS = build_classifier(CATALOG, None, threshold=0.45, keyword_weight=1.0, margin=0.15)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("the pothole by the traffic light", "pothole"),
        ("big pothole near the stop sign on Spring St", "pothole"),
        ("graffiti at the bus stop", "graffiti"),
        ("trash can overflowing next to the fire hydrant", "trash_missed"),
        ("the streetlight fell on the sidewalk", "street_light"),
        # "cerca del" is "near", not the park's "cerca" (fence).
        ("hay un bache cerca del semaforo", "pothole"),
    ],
)
def test_the_place_a_report_names_does_not_decide_its_service(text: str, code: str) -> None:
    assert classify(text, KEYWORDS).service_code == code


def test_a_place_word_alone_still_names_the_service_but_asks() -> None:
    found = classify("problem at the traffic light", KEYWORDS)
    assert found.service_code == "traffic_signal"
    assert found.low_confidence


def test_a_word_many_services_share_is_not_enough_to_file() -> None:
    found = classify("street", KEYWORDS)
    assert found.low_confidence and found.confidence < 0.3


def test_a_clear_report_is_filed_without_asking() -> None:
    found = classify("streetlight out, the street lamp is dark", KEYWORDS)
    assert found.service_code == "street_light" and not found.low_confidence


def test_shared_words_are_weighed_by_how_many_services_use_them() -> None:
    specificity = phrase_specificity(build_keyword_index(CATALOG))
    assert specificity[("street",)] <= 0.25
    assert ("pothole",) not in specificity  # one service's word counts whole


def test_the_models_features_count_every_hit_in_full() -> None:
    # The trained model learns for itself what a place word is worth.
    index = build_keyword_index(CATALOG)
    near = keyword_hits("pothole near the stop sign", index)
    plain = keyword_hits("pothole and the stop sign", index)
    assert near == plain and max(near) >= 3
