"""The normalizer's configuration (the ``[normalizer]`` table) and its start-up loading.

Everything with I/O happens here, once: the trained model, the gazetteer and the emergency
phrases are read from files so that ``normalizer/`` stays pure. Missing optional files are
fine: no model means keywords only, no gazetteer means no offline geocoding.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.config.normalizer_settings import NormalizerSettings
from gateway.config.toml import read_toml
from gateway.errors import ConfigError
from gateway.geocoding import NominatimGeocoder
from gateway.records import Service
from normalizer.category_model import MODEL_VERSION, TextModel
from normalizer.classify import build_classifier
from normalizer.emergency import EmergencyPhrases, compile_phrases
from normalizer.gazetteer import Gazetteer, gazetteer_from_json
from normalizer.geo import Geocoder
from normalizer.language import build_language_model
from normalizer.location import StreetIndex
from normalizer.normalize import NormalizerContext

log = logging.getLogger(__name__)


def load_normalizer(
    settings: NormalizerSettings,
    catalog: Sequence[Service],
    base_dir: Path,
    *,
    announce: bool = True,
) -> NormalizerContext:
    """Read the model, gazetteer and emergency phrases and build the pipeline's context; with
    ``announce``, say at start what is missing (a config check loads it only to try it)."""
    model = read_model(base_dir / settings.classifier_model)
    gazetteer = read_gazetteer(base_dir / settings.gazetteer)
    if announce:
        _say_what_is_missing(settings, model is None, gazetteer is None)
    geocoder: Geocoder | None = gazetteer
    if settings.geocoder.kind == "nominatim":
        g = settings.geocoder
        geocoder = NominatimGeocoder(
            g.url, timeout_s=g.timeout_s, user_agent=g.user_agent,
            countrycodes=g.countrycodes, viewbox=g.viewbox,
        )  # fmt: skip
    classifier = build_classifier(
        catalog,
        model,
        threshold=settings.low_confidence,
        keyword_weight=settings.keyword_weight,
        margin=settings.low_margin,
    )
    if model is not None:
        unmapped = sorted(set(model.labels) - set(classifier.label_codes))
        if unmapped:
            log.warning("normalizer.unmapped_categories", extra={"categories": unmapped})
    return NormalizerContext(
        catalog=tuple(catalog),
        classifier=classifier,
        language=build_language_model(settings.languages, catalog),
        emergency=read_emergency(base_dir / settings.emergency_phrases),
        geocoder=geocoder,
        # The same index eval-location reads texts with: streets and learned landmarks.
        streets=gazetteer.text_index() if gazetteer else StreetIndex.of(()),
        places=gazetteer.places if gazetteer else frozenset(),
        default_region=settings.default_region,
        email_channels=frozenset(settings.email_channels),
        duplicate_radius_m=settings.duplicate_radius_m,
        duplicate_window=timedelta(hours=settings.duplicate_window_hours),
    )


def _say_what_is_missing(settings: NormalizerSettings, no_model: bool, no_gazetteer: bool) -> None:
    # A first run files reports without places and classifies by keywords alone: say how to
    # teach it the city, once, at start (README: "Teach it your city").
    if no_gazetteer and settings.geocoder.kind == "gazetteer":
        log.warning(
            "normalizer.no_gazetteer",
            extra={
                "effect": "reports are filed without a place unless the resident gives one",
                "build": (
                    f"gateway build-gazetteer --history HISTORY.csv --out {settings.gazetteer}"
                ),
            },
        )
    if no_model:
        log.info(
            "normalizer.no_model",
            extra={
                "effect": "services are chosen by the catalog's keywords alone",
                "train": (
                    f"gateway train-classifier --history HISTORY.csv "
                    f"--out {settings.classifier_model}"
                ),
            },
        )


def read_model(path: Path) -> TextModel | None:
    """The trained model file, or None when there is none yet (keywords only)."""
    if not path.exists():
        return None
    # joblib takes a while to import (its process pools) and only a model file needs it.
    import joblib

    stale = f"{path} is not a current model file; run train-classifier again"
    # The file is our own artifact at a path the operator configured, never user input.
    try:
        model = joblib.load(path)
    except (AttributeError, TypeError, ValueError, EOFError) as exc:
        # A model file written by an older version no longer unpickles into TextModel.
        raise ConfigError("normalizer.classifier_model", stale) from exc
    if not isinstance(model, TextModel) or getattr(model, "version", None) != MODEL_VERSION:
        raise ConfigError("normalizer.classifier_model", stale)
    return model


def save_model(model: TextModel, path: Path) -> None:
    """Write a trained model file."""
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=3)


def read_gazetteer(path: Path) -> Gazetteer | None:
    """The gazetteer file, or None when there is none yet."""
    if not path.exists():
        return None
    try:
        return gazetteer_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError("normalizer.gazetteer", f"{path} is not a gazetteer file") from exc


def write_gazetteer(data: Mapping[str, Any], path: Path) -> None:
    """Write a gazetteer file (the ``gazetteer_to_json`` form)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def read_emergency(path: Path) -> EmergencyPhrases:
    """The emergency lexicon, compiled; a concept or rule it cannot compile names its key."""
    try:
        return compile_phrases(read_emergency_phrases(path))
    except ValueError as exc:
        raise ConfigError(f"normalizer.emergency_phrases ({path.name})", str(exc)) from exc


def read_emergency_phrases(path: Path) -> dict[str, Any]:
    """The emergency phrases file: ``[<language>] phrases, ignore, negations``."""
    table = read_toml(path, "normalizer.emergency_phrases")
    for lang, entry in table.items():
        for key in ("phrases", "ignore", "negations"):
            value = entry.get(key, []) if isinstance(entry, dict) else None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path.name}:{lang}.{key}", "must be a list of strings")
    return table
