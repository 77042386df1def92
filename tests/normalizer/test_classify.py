"""Category: keywords alone and the trained model, into the catalog's codes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.config.normalizer import read_model, save_model
from gateway.errors import ConfigError
from gateway.records import Service
from normalizer import category_model
from normalizer.category_model import (
    KEYWORD_SCALE,
    MAX_CHARS,
    MODEL_VERSION,
    Analyzers,
    TextModel,
    char_grams,
    predict,
    word_grams,
)
from normalizer.classify import build_classifier, classify, map_labels
from normalizer.keywords import build_keyword_index, keyword_hits, keyword_scores
from normalizer.normalize import NormalizerContext
from tests.normalizer.conftest import newport_rows, twilio_form


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


def _reference_scores(model: TextModel, text: str) -> Any:
    """Linear scores the slow way: every n-gram cut and counted, as in training."""
    text = text[:MAX_CHARS]
    x = np.zeros(model.weights.shape[0])
    for grams, table in (
        (word_grams(text), model.word_table),
        (char_grams(text), model.char_table),
    ):
        columns = [table[g] for g in grams if g in table]
        np.add.at(x, columns, model.idf[columns])
        sq = float(np.sum(model.idf[columns] ** 2))
        if sq:
            x[sorted(set(columns))] /= np.sqrt(sq)
    hits = np.log1p(keyword_hits(text, model.keywords)) * KEYWORD_SCALE
    x[len(model.idf) :] = hits
    return x @ model.weights + model.intercept


TEXTS = [r["text"] for r in newport_rows()[:80]] + [
    "hay un bache enorme en la calle Spring, casi pierdo una llanta",
    "Graffitti all over the wall 😡😡 on Thames St!!",
    "",
    "señal de alto caída — Bellevue Ave",
]


def test_cached_word_rows_score_like_cutting_every_ngram(
    ctx: NormalizerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ctx.classifier.model
    assert model is not None
    # A tiny cache forces rows to be dropped and reused between texts.
    monkeypatch.setattr(category_model, "CACHE_WORDS", MAX_CHARS + 5)
    analyzers = Analyzers.of(model)
    for text in TEXTS * 2:
        hits = keyword_hits(text[:MAX_CHARS], model.keywords)
        fast = analyzers.scores(text[:MAX_CHARS], hits)
        np.testing.assert_allclose(fast, _reference_scores(model, text), rtol=1e-4, atol=1e-5)


def test_probabilities_sum_to_one_and_follow_scores(ctx: NormalizerContext) -> None:
    model = ctx.classifier.model
    assert model is not None
    probs = predict(model, "streetlight out on Spring St", ctx.classifier.analyzers)
    assert abs(sum(probs) - 1.0) < 1e-6
    assert len(probs) == len(model.labels)


def test_a_model_file_of_another_version_is_a_config_error(
    ctx: NormalizerContext, tmp_path: Path
) -> None:
    model = ctx.classifier.model
    assert model is not None
    path = tmp_path / "classifier.joblib"
    save_model(dataclasses.replace(model, version=MODEL_VERSION - 1), path)
    with pytest.raises(ConfigError, match="run train-classifier again"):
        read_model(path)
