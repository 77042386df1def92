"""Normalizer test helpers: the default catalog, the Newport history, a loaded context."""

from __future__ import annotations

import csv
import urllib.parse
from pathlib import Path

import pytest

from gateway.config.catalog import load_catalog
from gateway.config.normalizer import (
    load_normalizer,
    save_model,
    write_gazetteer,
)
from gateway.config.normalizer_settings import NormalizerSettings
from gateway.records import Service
from normalizer.category_model import train_model
from normalizer.gazetteer import build_gazetteer, gazetteer_to_json
from normalizer.normalize import NormalizerContext
from tests.conftest import REPO_ROOT, SHARED_DATA, SHARED_FIXTURES

NEWPORT = SHARED_DATA / "311_samples" / "newport_ri_seeclickfix.csv"


def newport_rows() -> list[dict[str, str]]:
    """The Newport history as dicts."""
    with NEWPORT.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def twilio_form(name: str) -> dict[str, str]:
    """A Twilio fixture's form fields."""
    body = (SHARED_FIXTURES / "twilio" / name).read_text(encoding="utf-8")
    return dict(urllib.parse.parse_qsl(body, keep_blank_values=True))


@pytest.fixture(scope="session")
def catalog() -> tuple[Service, ...]:
    return load_catalog(REPO_ROOT / "config" / "services.toml")


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, catalog: tuple[Service, ...]) -> Path:
    """A base dir with a model and gazetteer trained on the whole Newport history."""
    base = tmp_path_factory.mktemp("normalizer")
    rows = newport_rows()
    model = train_model([r["text"] for r in rows], [r["category"] for r in rows], catalog)
    save_model(model, base / "var" / "classifier.joblib")
    located = [(r["address"], float(r["lat"]), float(r["long"])) for r in rows if r["lat"]]
    write_gazetteer(gazetteer_to_json(build_gazetteer(located)), base / "var" / "gazetteer.json")
    (base / "config").mkdir()
    (base / "config" / "emergency.toml").write_bytes(
        (REPO_ROOT / "config" / "emergency.toml").read_bytes()
    )
    return base


@pytest.fixture(scope="session")
def ctx(trained_dir: Path, catalog: tuple[Service, ...]) -> NormalizerContext:
    return load_normalizer(NormalizerSettings(), catalog, trained_dir)


@pytest.fixture(scope="session")
def bare_ctx(catalog: tuple[Service, ...]) -> NormalizerContext:
    """Zero set-up: the repository's config, no model, no gazetteer."""
    settings = NormalizerSettings(classifier_model="var/none.joblib", gazetteer="var/none.json")
    return load_normalizer(settings, catalog, REPO_ROOT)
