"""GeoReport v2 service list and service definitions, from the city's catalog.

The catalog (config/services.toml) is the one source: a service's ``names``, ``descriptions``,
``keywords`` and ``group``, and its ``[[services.attributes]]`` as the definition. Two Open311
details the catalog records do not carry are read from the same file when present: an
attribute's ``variable = false`` (informational only) and its ``datatype_descriptions``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.records import Service, ServiceAttribute

Extras = Mapping[tuple[str, str], Mapping[str, Any]]


def read_extras(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (service code, attribute code): the raw attribute table, for its Open311 extras."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        # The catalog loader reports a broken file; here it only means no extras.
        return {}
    extras: dict[tuple[str, str], dict[str, Any]] = {}
    for service in data.get("services", []):
        for attribute in service.get("attributes", []):
            extras[(str(service.get("code")), str(attribute.get("code")))] = attribute
    return extras


def service_entry(service: Service, kind: str, language: str = "en") -> dict[str, Any]:
    """One entry of ``GET services``, in the spec's field order."""
    words = [
        w for lang in sorted(service.keywords, key=_english_first) for w in service.keywords[lang]
    ]
    return {
        "service_code": service.code,
        "service_name": service.name(language),
        "description": _text(service.descriptions, language),
        "metadata": bool(service.attributes),
        "type": kind,
        "keywords": ", ".join(words),
        "group": service.group,
    }


def definition(service: Service, extras: Extras, language: str = "en") -> dict[str, Any]:
    """``GET services/{code}``: the service's attributes in the spec's shape."""
    ordered = sorted(service.attributes, key=lambda a: a.order)
    return {
        "service_code": service.code,
        "attributes": [
            _attribute(a, extras.get((service.code, a.code), {}), language) for a in ordered
        ],
    }


def _attribute(a: ServiceAttribute, extra: Mapping[str, Any], language: str) -> dict[str, Any]:
    described = extra.get("datatype_descriptions")
    return {
        "variable": bool(extra.get("variable", True)),
        "code": a.code,
        "datatype": a.datatype,
        "required": a.required,
        "datatype_description": _text(described, language) if isinstance(described, dict) else None,
        "order": a.order,
        "description": _text(a.descriptions, language),
        "values": [{"key": v.key, "name": _text(v.names, language)} for v in a.values],
    }


def _text(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def _english_first(language: str) -> tuple[bool, str]:
    return (language != "en", language)
