"""Helpers for the strict-config tests: the repository's own config as a document to change, and
every problem ``check-config`` would print for a changed copy of it."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from gateway.config.checks import config_schema, find_problems
from gateway.config.settings import load_settings
from gateway.config.toml import Key, MapOf, Table
from gateway.errors import ConfigError
from tests.conftest import REPO_ROOT

REPO_CONFIG = REPO_ROOT / "config" / "gateway.toml"


def repo_document() -> dict[str, Any]:
    """``config/gateway.toml`` as parsed, its catalog and phrases named by absolute paths so that
    a copy works from any folder (as ``tests.support.write_config`` does)."""
    with REPO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    data["gateway"]["catalog"] = str(REPO_ROOT / "config" / "services.toml")
    data["normalizer"]["emergency_phrases"] = str(REPO_ROOT / "config" / "emergency.toml")
    return data


def write_document(root: Path, data: Mapping[str, Any]) -> Path:
    """``data`` written as ``root/config/gateway.toml``."""
    path = root / "config" / "gateway.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(data))
    return path


def all_problems(path: Path, env: Mapping[str, str] | None = None) -> list[ConfigError]:
    """What ``check-config`` finds: the settings' problems, then the whole-config checks'.

    ``env`` is what ``load_settings`` reads (PORT, DATABASE_URL...); the plugins' variables come
    from the process environment, as in ``check-config``.
    """
    settings, problems = load_settings(path, env=env or {})
    return problems + find_problems(settings)


def at(problems: list[ConfigError], path: str) -> list[str]:
    """The messages of the problems at exactly ``path``."""
    return [p.message for p in problems if p.path == path]


@dataclass(frozen=True, slots=True)
class Entry:
    """One key of the config file: where it is, its schema, and the table holding it."""

    parts: tuple[str, ...]
    key: Key
    # The keys known beside it (its table's), for the suggestion a misspelling must get.
    siblings: tuple[str, ...]

    @property
    def path(self) -> str:
        return ".".join(self.parts)


def entries(data: Mapping[str, Any], schema: Table | None = None) -> Iterator[Entry]:
    """Every key of ``data`` that a table of the schema declares, tables and their keys alike;
    the names inside a ``MapOf`` (a language, a service code) are the operator's, not keys."""
    yield from _walk(data, schema or config_schema(), ())


def _walk(data: Mapping[str, Any], table: Table, parts: tuple[str, ...]) -> Iterator[Entry]:
    for name, value in data.items():
        key = table.keys[name]
        where = (*parts, name)
        yield Entry(where, key, tuple(table.keys))
        if isinstance(key, Table):
            yield from _walk(value, key, where)
        elif isinstance(key, MapOf) and isinstance(key.item, Table):
            for free, inner in value.items():
                yield from _walk(inner, key.item, (*where, free))


def renamed(data: Mapping[str, Any], parts: tuple[str, ...], new: str) -> dict[str, Any]:
    """A copy of ``data`` with the key at ``parts`` renamed to ``new``, in the same place."""
    copied = copy.deepcopy(dict(data))
    table = copied
    for part in parts[:-1]:
        table = table[part]
    items = [(new if k == parts[-1] else k, v) for k, v in table.items()]
    table.clear()
    table.update(items)
    return copied


def replaced(data: Mapping[str, Any], parts: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at ``parts`` (made, tables too, where missing)."""
    copied = copy.deepcopy(dict(data))
    table = copied
    for part in parts[:-1]:
        table = table.setdefault(part, {})
    table[parts[-1]] = value
    return copied


def misspellings(name: str, known: tuple[str, ...]) -> list[str]:
    """``name`` with its middle letter dropped, and with two middle letters swapped: what a
    hurried operator types. Neither is a known key itself. A one-letter name (``x``) has no
    middle to drop: the letter typed twice is its slip."""
    if len(name) == 1:
        return [name * 2] if name * 2 not in known else []
    middle = len(name) // 2
    dropped = name[:middle] + name[middle + 1 :]
    swapped = name
    for i in (middle, *range(len(name) - 1)):
        if i + 1 < len(name) and name[i] != name[i + 1]:
            swapped = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
            break
    return [m for m in dict.fromkeys([dropped, swapped]) if m != name and m not in known]
