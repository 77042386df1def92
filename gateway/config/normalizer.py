"""The normalizer's configuration (the ``[normalizer]`` table) and its start-up loading.

Everything with I/O happens here, once: the trained model, the gazetteer and the emergency
phrases are read from files so that ``normalizer/`` stays pure. Missing optional files are
fine: no model means keywords only, no gazetteer means no offline geocoding.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.config.toml import Number, Table, Text, Texts, http_url, keys_of, read_toml
from gateway.errors import ConfigError
from gateway.geocoding import NominatimGeocoder
from gateway.records import Service
from normalizer.category_model import MODEL_VERSION, TextModel
from normalizer.classify import build_classifier
from normalizer.emergency import EmergencyPhrases, compile_phrases
from normalizer.gazetteer import Gazetteer, gazetteer_from_json
from normalizer.geo import Geocoder
from normalizer.language import build_language_model, supported_languages
from normalizer.location import StreetIndex
from normalizer.normalize import NormalizerContext

log = logging.getLogger(__name__)

GEOCODERS = ("gazetteer", "nominatim")


@dataclass(frozen=True, slots=True)
class GeocoderSettings:
    """``[normalizer.geocoder]``: the offline gazetteer or a Nominatim-compatible server."""

    kind: str = "gazetteer"
    url: str = "https://nominatim.openstreetmap.org"
    timeout_s: float = 5.0
    user_agent: str = "intake-gateway-311"
    countrycodes: str = ""
    viewbox: str = ""


@dataclass(frozen=True, slots=True)
class NormalizerSettings:
    """``[normalizer]``: languages, files, thresholds."""

    languages: tuple[str, ...] = ("en", "es")
    default_region: str = "US"
    classifier_model: str = "var/classifier.joblib"
    gazetteer: str = "var/gazetteer.json"
    emergency_phrases: str = "config/emergency.toml"
    low_confidence: float = 0.45
    low_margin: float = 0.15
    keyword_weight: float = 0.25
    duplicate_radius_m: float = 75.0
    duplicate_window_hours: float = 72.0
    email_channels: tuple[str, ...] = ("email", "smtp", "sendgrid", "mailgun", "postmark")
    geocoder: GeocoderSettings = GeocoderSettings()


def _supported(language: str) -> str | None:
    return (
        None if language in supported_languages() else f"{language!r} is not a supported language"
    )


def _region(value: str) -> str | None:
    if len(value) == 2 and value.isalpha():
        return None
    return f"must be a two-letter region code like 'US', not {value!r}"


def _viewbox(value: str) -> str | None:
    if len(value.split(",")) == 4:
        return None
    return f"must be 'min_lon,min_lat,max_lon,max_lat', not {value!r}"


_FILE = Text(nonempty=True)
_SHARE = Number(minimum=0.0, maximum=1.0, inclusive=True)
_AT_LEAST_0 = Number(minimum=0.0, inclusive=True)
GEOCODER = Table(
    keys_of(
        GeocoderSettings,
        kind=Text(nonempty=True, choices=GEOCODERS),
        url=Text(nonempty=True, shape=http_url),
        timeout_s=Number(minimum=0.1, maximum=60.0, inclusive=True),
        user_agent=Text(nonempty=True),
        viewbox=Text(shape=_viewbox),
    )
)
# ``[normalizer]``: the keys of ``NormalizerSettings``.
NORMALIZER = Table(
    keys_of(
        NormalizerSettings,
        languages=Texts(nonempty=True, item=Text(nonempty=True, shape=_supported)),
        default_region=Text(nonempty=True, shape=_region),
        classifier_model=_FILE,
        gazetteer=_FILE,
        emergency_phrases=_FILE,
        low_confidence=_SHARE,
        low_margin=_SHARE,
        keyword_weight=_SHARE,
        duplicate_radius_m=_AT_LEAST_0,
        duplicate_window_hours=_AT_LEAST_0,
        geocoder=GEOCODER,
    )
)


def parse_normalizer_settings(
    table: Mapping[str, Any], path: str = "normalizer"
) -> NormalizerSettings:
    """Validate the raw ``[normalizer]`` table; raise ConfigError naming the exact key."""
    problems = NORMALIZER.check(table, path)
    if problems:
        raise problems[0]
    values = NORMALIZER.read(table)
    return NormalizerSettings(
        **{
            **values,
            "default_region": values["default_region"].upper(),
            "geocoder": GeocoderSettings(**values["geocoder"]),
        }
    )


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
