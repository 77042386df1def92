"""What channels and connectors share: options from their config table, secrets from the env."""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from gateway.errors import ConfigError


class Plugin:
    """A configurable part, ``[<section>.<name>]`` in ``config/gateway.toml``."""

    name: ClassVar[str]
    section: ClassVar[str]
    # Option keys that must be present and non-empty, checked by ``check-config`` and at start.
    required_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = options

    @classmethod
    def validate(
        cls, options: Mapping[str, Any], env: Mapping[str, str] | None = None
    ) -> list[ConfigError]:
        """Every problem with these options, each naming its exact key path."""
        env = os.environ if env is None else env
        path = f"{cls.section}.{cls.name}"
        problems = [
            ConfigError(f"{path}.{key}", "is required")
            for key in cls.required_options
            if not options.get(key)
        ]
        for key, value in options.items():
            if key.endswith("_env") and isinstance(value, str) and value not in env:
                problems.append(ConfigError(f"{path}.{key}", f"{value} is not set"))
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
