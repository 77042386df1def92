"""The one TOML reader, and the schema every table of ``config/gateway.toml`` is checked with.

A table's schema is a ``Table`` of keys, declared once beside the code that reads the table: the
gateway's own tables in ``settings.py``, ``web.py`` and ``normalizer.py`` (``keys_of`` makes the
keys of a settings dataclass from its fields and defaults), a plugin's options on its class
(``gateway.plugin``). ``Table.check`` walks a parsed table and returns every problem as a
``ConfigError`` naming its exact key path, so that one run of ``check-config`` reports every
mistake at once; an unknown key is refused with the closest known one. ``Table.read`` is what the
code uses: each key's value where it passed its check, its default otherwise.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import ConfigError

# Why a string is not of the form its key needs ("must be ..."), or None when it is.
Shape = Callable[[str], str | None]
# Why an environment variable's value is not of its form, as a sentence naming the variable and
# the fix but never the value (it is a secret); None when it is. Called with (name, value).
Content = Callable[[str, str], str | None]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_toml(path: Path, key: str) -> dict[str, Any]:
    """A TOML file's content; a missing or broken file is a ``ConfigError`` on ``key``."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(key, f"{path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key, f"{path} is not valid TOML: {exc}") from exc


def show(value: Any) -> str:
    """A value as a problem quotes it: short, and on one line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Key:
    """What one key may hold: a value of one kind with its default, or a table of keys."""

    default: Any = None

    def check(self, value: Any, path: str) -> list[ConfigError]:
        """Every problem with ``value`` at ``path``; empty when it is right."""
        raise NotImplementedError

    def read(self, value: Any) -> Any:
        """What the code reads: ``value`` when given and right, else the default."""
        if value is None or self.check(value, ""):
            return self.default
        return value


@dataclass(frozen=True)
class Flag(Key):
    default: bool = False

    def check(self, value: Any, path: str) -> list[ConfigError]:
        if isinstance(value, bool):
            return []
        return [ConfigError(path, f"must be true or false, not {show(value)}")]


@dataclass(frozen=True)
class Whole(Key):
    default: int = 0
    minimum: int = 1
    maximum: int | None = None

    def check(self, value: Any, path: str) -> list[ConfigError]:
        low, high = self.minimum, self.maximum
        whole = _is_number(value) and isinstance(value, int)
        if whole and value >= low and (high is None or value <= high):
            return []
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        return [ConfigError(path, f"must be an integer {bound}, not {show(value)}")]


@dataclass(frozen=True)
class Number(Key):
    default: float = 0.0
    minimum: float = 0.0
    maximum: float | None = None
    # True: the minimum itself is right (a share from 0 to 1); False: only above it (a wait).
    inclusive: bool = False

    def check(self, value: Any, path: str) -> list[ConfigError]:
        if _is_number(value) and math.isfinite(value) and self._within(value):
            return []
        if self.maximum is not None:
            bound = f"from {self.minimum:g} to {self.maximum:g}"
            return [ConfigError(path, f"must be a number {bound}, not {show(value)}")]
        if not self.inclusive and self.minimum == 0:
            return [ConfigError(path, f"must be a positive number, not {show(value)}")]
        bound = f"{'>=' if self.inclusive else '>'} {self.minimum:g}"
        return [ConfigError(path, f"must be a number {bound}, not {show(value)}")]

    def read(self, value: Any) -> float:
        return float(super().read(value))

    def _within(self, value: float) -> bool:
        above = value >= self.minimum if self.inclusive else value > self.minimum
        return above and (self.maximum is None or value <= self.maximum)


@dataclass(frozen=True)
class Text(Key):
    default: str = ""
    # Empty is wrong (a file that must be named); otherwise empty means "not set".
    nonempty: bool = False
    choices: tuple[str, ...] = ()
    shape: Shape | None = None

    def check(self, value: Any, path: str) -> list[ConfigError]:
        if not isinstance(value, str):
            return [ConfigError(path, f"must be a string in quotes, not {show(value)}")]
        if not value.strip():
            return [ConfigError(path, "must not be empty")] if self.nonempty else []
        if self.choices and value not in self.choices:
            choices = ", ".join(self.choices)
            return [ConfigError(path, f"must be one of {choices}, not {show(value)}")]
        wrong = self.shape(value) if self.shape else None
        return [ConfigError(path, wrong)] if wrong else []


@dataclass(frozen=True)
class EnvVar(Text):
    """A ``*_env`` key: it names the environment variable that holds a secret."""

    # The variable may be unset (the plugin then does without it).
    optional: bool = False
    content: Content | None = None

    def check(self, value: Any, path: str) -> list[ConfigError]:
        problems = super().check(value, path)
        if problems or not value or _ENV_NAME.fullmatch(value):
            return problems
        return [ConfigError(path, f"must name an environment variable, not {show(value)}")]

    def check_env(self, name: str, env: Mapping[str, str], path: str) -> list[ConfigError]:
        """The problems with the variable ``name`` in ``env``: unset, empty or ill-formed."""
        if name not in env:
            return [] if self.optional else [ConfigError(path, f"{name} is not set")]
        if not env[name]:
            return [ConfigError(path, f"{name} is set but empty: set it to the secret")]
        wrong = self.content(name, env[name]) if self.content else None
        return [ConfigError(path, wrong)] if wrong else []


@dataclass(frozen=True)
class Texts(Key):
    default: tuple[str, ...] = ()
    # At least one item is needed.
    nonempty: bool = False
    item: Text = Text(nonempty=True)

    def check(self, value: Any, path: str) -> list[ConfigError]:
        if not isinstance(value, list | tuple):
            return [ConfigError(path, f"must be a list of strings, not {show(value)}")]
        if self.nonempty and not value:
            return [ConfigError(path, "must list at least one")]
        return [p for i, v in enumerate(value) for p in self.item.check(v, f"{path}[{i}]")]

    def read(self, value: Any) -> tuple[str, ...]:
        return tuple(super().read(value))


@dataclass(frozen=True)
class Table(Key):
    """A table of known keys: any other key is refused, naming the closest known one."""

    keys: Mapping[str, Key]

    def check(self, value: Any, path: str) -> list[ConfigError]:
        if not isinstance(value, Mapping):
            return [ConfigError(path, f"must be a table, not {show(value)}")]
        problems = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            known = self.keys.get(key)
            if known is None:
                kind = "table" if isinstance(item, Mapping) else "key"
                problems.append(ConfigError(where, f"unknown {kind}; {suggest(key, self.keys)}"))
            else:
                problems += known.check(item, where)
        return problems

    def read(self, value: Any) -> dict[str, Any]:
        given = value if isinstance(value, Mapping) else {}
        return {key: known.read(given.get(key)) for key, known in self.keys.items()}


@dataclass(frozen=True)
class MapOf(Key):
    """A table whose names the operator chooses (a service code, a language), each an ``item``."""

    item: Key

    def check(self, value: Any, path: str) -> list[ConfigError]:
        if not isinstance(value, Mapping):
            return [ConfigError(path, f"must be a table, not {show(value)}")]
        return [p for name, v in value.items() for p in self.item.check(v, f"{path}.{name}")]

    def read(self, value: Any) -> dict[str, Any]:
        given = value if isinstance(value, Mapping) else {}
        return {name: self.item.read(v) for name, v in given.items()}


@dataclass(frozen=True)
class Plugins(Key):
    """``[<section>.<name>]``, one table per plugin. Only ``enabled`` is checked here: the rest
    of each table is its plugin's to check (``gateway/config/checks.py``)."""

    def check(self, value: Any, path: str) -> list[ConfigError]:
        if not isinstance(value, Mapping):
            return [ConfigError(path, f"must be a table, not {show(value)}")]
        problems = []
        for name, table in value.items():
            if not isinstance(table, Mapping):
                problems.append(
                    ConfigError(f"{path}.{name}", f"must be a table, not {show(table)}")
                )
            elif "enabled" in table:
                problems += Flag().check(table["enabled"], f"{path}.{name}.enabled")
        return problems

    def read(self, value: Any) -> Mapping[str, Any]:
        return value if isinstance(value, Mapping) else {}


def suggest(name: str, known: Collection[str]) -> str:
    """``did you mean `enabled`?`` for the closest known name, else the list of known names."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean `{close[0]}`?" if close else f"known: {', '.join(known)}"


def keys_of(settings: type, *, skip: Collection[str] = (), **keys: Key) -> dict[str, Key]:
    """The keys of a table read into the dataclass ``settings``: one per field, of the kind of
    its default and with it; ``keys`` refine some (a bound, a shape) and ``skip`` leaves some out.
    """
    defaults = settings()
    found: dict[str, Key] = {}
    for f in dataclasses.fields(settings):
        if f.name in skip:
            continue
        default = getattr(defaults, f.name)
        given = keys.get(f.name) or _kind_of(f.name, default)
        # A value's key takes the field's default; a table's keys have their own.
        found[f.name] = given if isinstance(given, Table | MapOf) else _defaulted(given, default)
    if extra := set(keys) - set(found):
        raise TypeError(f"{settings.__name__} has no fields {sorted(extra)}")
    return found


def _defaulted(key: Key, default: Any) -> Key:
    return dataclasses.replace(key, default=default)  # type: ignore[type-var]


def _kind_of(name: str, default: Any) -> Key:
    kinds: list[tuple[type, Callable[[], Key]]] = [
        (bool, Flag), (int, Whole), (float, Number), (str, Text), (tuple, Texts),
    ]  # fmt: skip
    for kind, make in kinds:
        if isinstance(default, kind):
            return make()
    raise TypeError(f"say which key {name!r} is: its default {default!r} names no kind")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# A shape several tables share.


def time_zone(value: str) -> str | None:
    """An IANA time zone name the system's tz database knows ("America/New_York")."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"must be an IANA time zone like 'America/New_York', not {show(value)}"
    return None


def http_url(value: str) -> str | None:
    """An ``http://`` or ``https://`` URL with a host."""
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    return f"must be an http:// or https:// URL, not {show(value)}"
