"""A close call between two services is low confidence, so the resident is asked to choose."""

from __future__ import annotations

from gateway.config.catalog import load_catalog
from normalizer.classify import build_classifier, classify
from tests.conftest import REPO_ROOT

CATALOG = load_catalog(REPO_ROOT / "config" / "services.toml")


def test_a_tie_between_two_services_is_low_confidence() -> None:
    strict = build_classifier(CATALOG, None, threshold=0.45, keyword_weight=0.25, margin=0.15)
    tie = classify("graffiti tagging and a pothole sinkhole", strict)
    assert {code for code, _ in tie.top} == {"graffiti", "pothole"}
    assert tie.confidence >= 0.45  # above the threshold: only the margin catches it
    assert tie.low_confidence


def test_a_clear_lead_is_not_low_confidence() -> None:
    strict = build_classifier(CATALOG, None, threshold=0.45, keyword_weight=0.25, margin=0.15)
    clear = classify("big pothole on the road, almost lost a tire in the pothole", strict)
    assert clear.service_code == "pothole"
    assert not clear.low_confidence


def test_without_a_margin_the_tie_passes_as_sure() -> None:
    lenient = build_classifier(CATALOG, None, threshold=0.45, keyword_weight=0.25)
    assert not classify("graffiti tagging and a pothole sinkhole", lenient).low_confidence
