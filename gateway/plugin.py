"""What channels and connectors share: options from their config table, secrets from the env.

A plugin declares the keys of its ``[<section>.<name>]`` table on its class, ``known_options``,
with the kinds of ``gateway.config.toml`` (re-exported here, since a channel imports no more than
this module): ``check-config`` and start-up refuse any other key and any value of the wrong kind,
for every table, and check the environment variables an enabled plugin's ``*_env`` keys name.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from gateway.config.toml import (
    EnvVar,
    Flag,
    Key,
    MapOf,
    Number,
    Table,
    Text,
    Texts,
    Whole,
    http_url,
    show,
)
from gateway.errors import ConfigError

__all__ = [
    "EnvVar",
    "Flag",
    "Key",
    "MapOf",
    "Number",
    "Plugin",
    "Registry",
    "Table",
    "Text",
    "Texts",
    "Whole",
    "e164",
    "email_address",
    "http_url",
    "table_keys",
    "user_password",
]


class Plugin:
    """A configurable part, ``[<section>.<name>]`` in ``config/gateway.toml``."""

    name: ClassVar[str]
    section: ClassVar[str]
    # Option keys that must be present and non-empty, checked by ``check-config`` and at start.
    required_options: ClassVar[tuple[str, ...]] = ()
    # Every key of the table but ``enabled``, with its kind and default. None when the gateway
    # reads the table itself and declares its keys there (the web pages' channels: web.py).
    known_options: ClassVar[Mapping[str, Key] | None] = MappingProxyType({})

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = options

    @classmethod
    def table(cls, keys: Mapping[str, Key] | None = None) -> Table:
        """The schema of this plugin's table: ``enabled`` and ``keys`` (its own by default)."""
        keys = cls.known_options if keys is None else keys
        if keys is None:
            raise TypeError(f"{cls.section}.{cls.name} is declared where it is read: pass keys")
        return Table({"enabled": Flag(False), **keys})

    @classmethod
    def validate(
        cls,
        options: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        *,
        keys: Mapping[str, Key] | None = None,
    ) -> list[ConfigError]:
        """Every problem with the options of the enabled plugin, each naming its key path."""
        env = os.environ if env is None else env
        path = f"{cls.section}.{cls.name}"
        table = cls.table(keys)
        problems = table.check(options, path)
        problems += [
            ConfigError(f"{path}.{key}", "is required")
            for key in cls.required_options
            if not options.get(key)
        ]
        for key, known in table.keys.items():
            name = options.get(key)
            if isinstance(known, EnvVar) and name and not known.check(name, ""):
                problems += known.check_env(name, env, f"{path}.{key}")
        return problems

    def secret(self, key: str) -> str:
        """The secret whose environment variable the option ``<key>_env`` names."""
        path = f"{self.section}.{self.name}.{key}_env"
        env_name = self.options.get(f"{key}_env")
        if not env_name:
            raise ConfigError(path, "is required")
        value = os.environ.get(str(env_name))
        if value is None:
            raise ConfigError(path, f"{env_name} is not set")
        return value


def table_keys(**keys: Key) -> Mapping[str, Key]:
    """A plugin's ``known_options``, read-only: ``table_keys(path=Text("var/cases"))``."""
    return MappingProxyType(keys)


# Shapes that several plugins' keys share.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def e164(value: str) -> str | None:
    """A phone number in E.164 form."""
    if _E164.fullmatch(value):
        return None
    return f"must be an E.164 number like '+14015550100', not {show(value)}"


def email_address(value: str) -> str | None:
    """An address with a local part and a domain."""
    local, _, domain = value.partition("@")
    if local and ("." in domain or domain == "localhost"):
        return None
    return f"must be an email address like '311@city.gov', not {show(value)}"


def user_password(name: str, value: str) -> str | None:
    """The content of a basic-auth variable: ``user:password``, both non-empty."""
    user, colon, password = value.partition(":")
    if colon and user and password:
        return None
    return (
        f"{name} must be user:password (the user and password in the URL the provider calls, "
        "with a colon between them): set it again in that form"
    )


P = TypeVar("P", bound=Plugin)


class Registry(Generic[P]):
    """Plugins of one kind by name, each module of ``package`` registering its own class."""

    def __init__(self, kind: str, package: str, path: Iterable[str]) -> None:
        self.kind = kind
        self.package = package
        self.path = list(path)
        self.classes: dict[str, type[P]] = {}

    def register(self, cls: type[P]) -> type[P]:
        """Class decorator: file ``cls`` under its ``name``; a duplicate name fails at import."""
        if cls.name in self.classes:
            raise RuntimeError(f"{self.kind} {cls.name!r} is registered twice")
        self.classes[cls.name] = cls
        return cls

    def load_all(self) -> dict[str, type[P]]:
        """Import every module of the package, so that a new file is enough to add a plugin."""
        for module in pkgutil.iter_modules(self.path):
            importlib.import_module(f"{self.package}.{module.name}")
        return self.classes
