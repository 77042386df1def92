"""The [normalizer] table: defaults, exact key paths on mistakes, zero-set-up loading."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from gateway.config.catalog import load_catalog
from gateway.config.normalizer import (
    load_normalizer,
    read_emergency,
)
from gateway.config.normalizer_settings import NormalizerSettings, parse_normalizer_settings
from gateway.errors import ConfigError
from tests.conftest import REPO_ROOT


def test_documented_defaults_parse_to_the_code_defaults() -> None:
    with (REPO_ROOT / "config" / "gateway.toml").open("rb") as fh:
        table = tomllib.load(fh)["normalizer"]
    assert parse_normalizer_settings(table) == NormalizerSettings()


@pytest.mark.parametrize(
    ("table", "path"),
    [
        ({"languages": ["en", "es", "xx"]}, "normalizer.languages[2]"),
        ({"languages": "en"}, "normalizer.languages"),
        ({"default_region": "USA"}, "normalizer.default_region"),
        ({"low_confidence": 2}, "normalizer.low_confidence"),
        ({"duplicate_radius_m": "far"}, "normalizer.duplicate_radius_m"),
        ({"geocoder": {"kind": "google"}}, "normalizer.geocoder.kind"),
        ({"geocoder": {"url": "ftp://x"}}, "normalizer.geocoder.url"),
        ({"geocoder": {"viewbox": "1,2"}}, "normalizer.geocoder.viewbox"),
        ({"colour": "red"}, "normalizer.colour"),
    ],
)
def test_mistakes_name_the_key(table: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_normalizer_settings(table)
    assert err.value.path == path


def test_unsupported_language_message() -> None:
    with pytest.raises(ConfigError, match=r"normalizer.languages\[2\]: 'xx' is not a supported"):
        parse_normalizer_settings({"languages": ["en", "es", "xx"]})


def test_zero_setup_loads_without_model_or_gazetteer(tmp_path: Path) -> None:
    catalog = load_catalog(REPO_ROOT / "config" / "services.toml")
    settings = NormalizerSettings(
        classifier_model=str(tmp_path / "none.joblib"), gazetteer=str(tmp_path / "none.json")
    )
    ctx = load_normalizer(settings, catalog, REPO_ROOT)
    assert ctx.classifier.model is None
    assert ctx.geocoder is None


def test_missing_emergency_file_is_a_config_error(tmp_path: Path) -> None:
    catalog = load_catalog(REPO_ROOT / "config" / "services.toml")
    with pytest.raises(ConfigError) as err:
        load_normalizer(NormalizerSettings(), catalog, tmp_path)
    assert err.value.path == "normalizer.emergency_phrases"


def test_an_emergency_lexicon_that_cannot_compile_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "emergency.toml"
    path.write_text('[en]\nconcepts = "gas, fire"\n')
    with pytest.raises(ConfigError) as caught:
        read_emergency(path)
    assert "normalizer.emergency_phrases" in str(caught.value)
    assert "concepts" in str(caught.value)


def test_a_start_says_how_to_build_what_is_missing_and_a_check_does_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = load_catalog(REPO_ROOT / "config" / "services.toml")
    settings = NormalizerSettings(
        classifier_model=str(tmp_path / "none.joblib"), gazetteer=str(tmp_path / "none.json")
    )
    with caplog.at_level("INFO", logger="gateway.config.normalizer"):
        load_normalizer(settings, catalog, REPO_ROOT, announce=False)
        assert caplog.records == []
        load_normalizer(settings, catalog, REPO_ROOT)
    events = [r.getMessage() for r in caplog.records]
    assert events == ["normalizer.no_gazetteer", "normalizer.no_model"]
    assert "build-gazetteer" in caplog.records[0].__dict__["build"]
