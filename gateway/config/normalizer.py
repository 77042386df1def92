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

from gateway.config.toml import read_toml
from gateway.errors import ConfigError
from gateway.geocoding import NominatimGeocoder
from gateway.records import Service
from normalizer.category_model import MODEL_VERSION, TextModel
from normalizer.classify import build_classifier
from normalizer.emergency import compile_phrases
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


def parse_normalizer_settings(
    table: Mapping[str, Any], path: str = "normalizer"
) -> NormalizerSettings:
    """Validate the raw ``[normalizer]`` table; raise ConfigError naming the exact key."""
    d = NormalizerSettings()
    known = set(NormalizerSettings.__dataclass_fields__)
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}.{key}", "is not a known key")
    languages = _strings(table.get("languages", list(d.languages)), f"{path}.languages")
    supported = supported_languages()
    for i, lang in enumerate(languages):
        if lang not in supported:
            raise ConfigError(f"{path}.languages[{i}]", f"{lang!r} is not a supported language")
    if not languages:
        raise ConfigError(f"{path}.languages", "needs at least one language")
    return NormalizerSettings(
        languages=languages,
        default_region=_region(table.get("default_region", d.default_region), path),
        classifier_model=_str(table, "classifier_model", d.classifier_model, path),
        gazetteer=_str(table, "gazetteer", d.gazetteer, path),
        emergency_phrases=_str(table, "emergency_phrases", d.emergency_phrases, path),
        low_confidence=_number(table, "low_confidence", d.low_confidence, path, 0.0, 1.0),
        low_margin=_number(table, "low_margin", d.low_margin, path, 0.0, 1.0),
        keyword_weight=_number(table, "keyword_weight", d.keyword_weight, path, 0.0, 1.0),
        duplicate_radius_m=_number(table, "duplicate_radius_m", d.duplicate_radius_m, path, 0.0),
        duplicate_window_hours=_number(
            table, "duplicate_window_hours", d.duplicate_window_hours, path, 0.0
        ),
        email_channels=_strings(
            table.get("email_channels", list(d.email_channels)), f"{path}.email_channels"
        ),
        geocoder=_geocoder(table.get("geocoder", {}), f"{path}.geocoder"),
    )


def load_normalizer(
    settings: NormalizerSettings, catalog: Sequence[Service], base_dir: Path
) -> NormalizerContext:
    """Read the model, gazetteer and emergency phrases and build the pipeline's context."""
    model = read_model(base_dir / settings.classifier_model)
    gazetteer = read_gazetteer(base_dir / settings.gazetteer)
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
        emergency=compile_phrases(read_emergency_phrases(base_dir / settings.emergency_phrases)),
        geocoder=geocoder,
        # The same index eval-location reads texts with: streets and learned landmarks.
        streets=gazetteer.text_index() if gazetteer else StreetIndex.of(()),
        places=gazetteer.places if gazetteer else frozenset(),
        default_region=settings.default_region,
        email_channels=frozenset(settings.email_channels),
        duplicate_radius_m=settings.duplicate_radius_m,
        duplicate_window=timedelta(hours=settings.duplicate_window_hours),
    )


def read_model(path: Path) -> TextModel | None:
    """The trained model file, or None when there is none yet (keywords only)."""
    if not path.exists():
        log.info("normalizer.no_model", extra={"path": str(path)})
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
        log.info("normalizer.no_gazetteer", extra={"path": str(path)})
        return None
    try:
        return gazetteer_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError("normalizer.gazetteer", f"{path} is not a gazetteer file") from exc


def write_gazetteer(data: Mapping[str, Any], path: Path) -> None:
    """Write a gazetteer file (the ``gazetteer_to_json`` form)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def read_emergency_phrases(path: Path) -> dict[str, Any]:
    """The emergency phrases file: ``[<language>] phrases, ignore, negations``."""
    table = read_toml(path, "normalizer.emergency_phrases")
    for lang, entry in table.items():
        for key in ("phrases", "ignore", "negations"):
            value = entry.get(key, []) if isinstance(entry, dict) else None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path.name}:{lang}.{key}", "must be a list of strings")
    return table


def _geocoder(value: Any, path: str) -> GeocoderSettings:
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be a table")
    d = GeocoderSettings()
    for key in value:
        if key not in GeocoderSettings.__dataclass_fields__:
            raise ConfigError(f"{path}.{key}", "is not a known key")
    kind = _str(value, "kind", d.kind, path)
    if kind not in GEOCODERS:
        raise ConfigError(f"{path}.kind", f"must be one of {', '.join(GEOCODERS)}")
    url = _str(value, "url", d.url, path)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{path}.url", "must be an http(s) URL")
    viewbox = _str(value, "viewbox", d.viewbox, path, empty_ok=True)
    if viewbox and len(viewbox.split(",")) != 4:
        raise ConfigError(f"{path}.viewbox", "must be 'min_lon,min_lat,max_lon,max_lat'")
    return GeocoderSettings(
        kind=kind,
        url=url,
        timeout_s=_number(value, "timeout_s", d.timeout_s, path, 0.1, 60.0),
        user_agent=_str(value, "user_agent", d.user_agent, path),
        countrycodes=_str(value, "countrycodes", d.countrycodes, path, empty_ok=True),
        viewbox=viewbox,
    )


def _str(
    table: Mapping[str, Any], key: str, default: str, path: str, empty_ok: bool = False
) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        raise ConfigError(f"{path}.{key}", "must be a non-empty string")
    return value


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(path, "must be a list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{path}[{i}]", "must be a non-empty string")
    return tuple(value)


def _number(
    table: Mapping[str, Any], key: str, default: float, path: str, low: float, high: float = 1e9
) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{path}.{key}", "must be a number")
    if not low <= value <= high:
        raise ConfigError(f"{path}.{key}", f"must be between {low:g} and {high:g}")
    return float(value)


def _region(value: Any, path: str) -> str:
    if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
        raise ConfigError(f"{path}.default_region", "must be a two-letter region code like 'US'")
    return value.upper()
