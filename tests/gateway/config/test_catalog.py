"""The service catalog file: the default loads, mistakes name their exact key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.catalog import find_service, load_catalog
from gateway.errors import ConfigError
from tests.conftest import REPO_ROOT

GOOD = """
[[services]]
code = "pothole"
names = { en = "Pothole", es = "Bache" }
keywords.en = ["pothole"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "services.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_catalog_loads_with_both_languages() -> None:
    catalog = load_catalog(REPO_ROOT / "config" / "services.toml")
    assert 15 <= len(catalog) <= 25
    for service in catalog:
        assert set(service.names) >= {"en", "es"}
        assert service.keywords.get("en") and service.keywords.get("es")
    pothole = find_service(catalog, "pothole")
    assert pothole is not None and pothole.attributes[0].datatype == "singlevaluelist"
    assert find_service(catalog, "nope") is None


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ('keywords.es = "bache"', "services[1].keywords.es"),
        ("location_required = 1", "services[1].location_required"),
        ('code = ""', "services[1].code"),
    ],
)
def test_bad_value_names_its_key(tmp_path: Path, extra: str, path: str) -> None:
    second = GOOD.replace('code = "pothole"', 'code = "graffiti"')
    if extra.startswith("code"):
        second = second.replace('code = "graffiti"', extra)
    else:
        second = second.replace("names = {", f"{extra}\nnames = {{")
    with pytest.raises(ConfigError) as err:
        load_catalog(_write(tmp_path, GOOD + second))
    assert err.value.path == path


def test_bad_attribute_datatype(tmp_path: Path) -> None:
    text = GOOD + '[[services.attributes]]\ncode = "x"\ndatatype = "blob"\nrequired = false\n'
    text += 'descriptions = { en = "?" }\n'
    with pytest.raises(ConfigError) as err:
        load_catalog(_write(tmp_path, text))
    assert err.value.path == "services[0].attributes[0].datatype"


def test_duplicate_code(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_catalog(_write(tmp_path, GOOD + GOOD))
    assert err.value.path == "services[1].code"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_catalog(tmp_path / "absent.toml")
