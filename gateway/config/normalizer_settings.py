"""``[normalizer]``'s settings and schema: what the config check reads and validates, without
loading the normalizer itself (its model, numpy, the geocoder's HTTP client), so that reading
the config stays light. ``gateway.config.normalizer`` loads what these settings name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.config.toml import Number, Table, Text, Texts, http_url, keys_of
from normalizer.language import supported_languages

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
