"""The city's service catalog (config/services.toml) as ``Service`` records.

The shape follows Open311 GeoReport v2 service lists and service definitions, with names,
descriptions and keywords per language and the history's category names as ``aliases``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gateway.config.toml import read_toml
from gateway.errors import ConfigError
from gateway.records import AttributeValue, Service, ServiceAttribute

DATATYPES = frozenset({"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"})


def load_catalog(path: Path) -> tuple[Service, ...]:
    """Read a services TOML file into ``Service`` records, naming the exact wrong key."""
    return parse_catalog(read_toml(path, "services"))


def parse_catalog(data: Mapping[str, Any]) -> tuple[Service, ...]:
    """Turn the parsed TOML document into services; codes must be unique."""
    items = data.get("services")
    if not isinstance(items, list) or not items:
        raise ConfigError("services", "must be a non-empty array of [[services]] tables")
    services: list[Service] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        service = _parse_service(item, f"services[{index}]")
        if service.code in seen:
            raise ConfigError(f"services[{index}].code", f"{service.code!r} is used twice")
        seen.add(service.code)
        services.append(service)
    return tuple(services)


def find_service(catalog: Sequence[Service], code: str | None) -> Service | None:
    """The service with this code, or None."""
    return next((s for s in catalog if s.code == code), None)


def _parse_service(item: Any, path: str) -> Service:
    """One [[services]] table."""
    table = _table(item, path)
    names = _lang_strings(table.get("names"), f"{path}.names", required=True)
    return Service(
        code=_string(table.get("code"), f"{path}.code"),
        names=names,
        descriptions=_lang_strings(table.get("descriptions", {}), f"{path}.descriptions"),
        keywords=_lang_lists(table.get("keywords", {}), f"{path}.keywords"),
        group=_string(table.get("group", ""), f"{path}.group", empty_ok=True),
        location_required=_bool(table.get("location_required", True), f"{path}.location_required"),
        aliases=_strings(table.get("aliases", []), f"{path}.aliases"),
        attributes=tuple(
            _parse_attribute(a, f"{path}.attributes[{i}]")
            for i, a in enumerate(_list(table.get("attributes", []), f"{path}.attributes"))
        ),
    )


def _parse_attribute(item: Any, path: str) -> ServiceAttribute:
    """One [[services.attributes]] table (an Open311 attribute)."""
    table = _table(item, path)
    datatype = _string(table.get("datatype"), f"{path}.datatype")
    if datatype not in DATATYPES:
        raise ConfigError(f"{path}.datatype", f"must be one of {', '.join(sorted(DATATYPES))}")
    values = _list(table.get("values", []), f"{path}.values")
    if datatype.endswith("valuelist") and not values:
        raise ConfigError(f"{path}.values", f"a {datatype} attribute needs values")
    order = table.get("order", 0)
    if not isinstance(order, int) or isinstance(order, bool):
        raise ConfigError(f"{path}.order", "must be an integer")
    return ServiceAttribute(
        code=_string(table.get("code"), f"{path}.code"),
        datatype=datatype,
        required=_bool(table.get("required", False), f"{path}.required"),
        descriptions=_lang_strings(table.get("descriptions"), f"{path}.descriptions", True),
        order=order,
        values=tuple(_parse_value(v, f"{path}.values[{i}]") for i, v in enumerate(values)),
    )


def _parse_value(item: Any, path: str) -> AttributeValue:
    """One choice of a list attribute."""
    table = _table(item, path)
    return AttributeValue(
        key=_string(table.get("key"), f"{path}.key"),
        names=_lang_strings(table.get("names"), f"{path}.names", required=True),
    )


def _table(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, "must be a table")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(path, "must be a list")
    return value


def _string(value: Any, path: str, empty_ok: bool = False) -> str:
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        raise ConfigError(
            path, "must be a non-empty string" if not empty_ok else "must be a string"
        )
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, "must be true or false")
    return value


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(path, "must be a list of strings")
    return tuple(value)


def _lang_strings(value: Any, path: str, required: bool = False) -> dict[str, str]:
    """A table of language code -> text."""
    table = _table(value if value is not None else ({} if not required else None), path)
    if required and not table:
        raise ConfigError(path, "needs at least one language")
    return {lang: _string(text, f"{path}.{lang}") for lang, text in table.items()}


def _lang_lists(value: Any, path: str) -> dict[str, tuple[str, ...]]:
    """A table of language code -> list of words or phrases."""
    table = _table(value, path)
    return {lang: _strings(words, f"{path}.{lang}") for lang, words in table.items()}
