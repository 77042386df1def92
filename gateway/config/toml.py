"""Typed look-ups in a parsed TOML document by dotted key path, collecting every problem.

A wrong value is recorded as a ``ConfigError`` naming its exact key and the default is used, so
that one run of ``check-config`` reports every mistake at once instead of the first.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError


def read_toml(path: Path, key: str) -> dict[str, Any]:
    """A TOML file's content; a missing or broken file is a ``ConfigError`` on ``key``."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(key, f"{path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key, f"{path} is not valid TOML: {exc}") from exc


class TomlReader:
    """Typed look-ups by dotted key path that record a problem instead of raising."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[ConfigError] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(ConfigError(path, message))

    def get(self, path: str) -> Any:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def table(self, path: str) -> Mapping[str, Any]:
        value = self.get(path)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(path, "must be a table")
            return {}
        return value

    def str_(self, path: str, default: str) -> str:
        value = self.get(path)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem(path, f"must be a string, not {type(value).__name__}")
            return default
        return value

    def bool_(self, path: str, default: bool) -> bool:
        value = self.get(path)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, "must be true or false")
            return default
        return value

    def int_(self, path: str, default: int, minimum: int = 1) -> int:
        value = self.get(path)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(path, f"must be an integer >= {minimum}, not {value!r}")
            return default
        return value

    def num(self, path: str, default: float) -> float:
        value = self.get(path)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.problem(path, f"must be a positive number, not {value!r}")
            return default
        return float(value)
