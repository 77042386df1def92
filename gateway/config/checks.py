"""Whole-configuration checks for ``check-config`` and start-up, beyond the gateway's own tables.

``load_settings`` checks the gateway's own tables; this module checks each plugin's table (every
one, enabled or not, against the keys its class declares: a misspelled key in a disabled table
is still a mistake), the environment the enabled ones name, the catalog and the normalizer's
files. ``config_schema`` is the whole file's schema, the plugins' tables included.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import channels
from gateway import connectors, fetchers, notifiers
from gateway.config.catalog import load_catalog
from gateway.config.normalizer import load_normalizer
from gateway.config.normalizer_settings import parse_normalizer_settings
from gateway.config.settings import SCHEMA, PluginSettings, Settings
from gateway.config.toml import EnvVar, Key, Table, suggest
from gateway.config.web import WEB_OPTIONS
from gateway.errors import ConfigError
from gateway.plugin import Plugin

SECTIONS: Mapping[str, Callable[[], Mapping[str, type[Plugin]]]] = {
    "channels": channels.load_all,
    "connectors": connectors.load_all,
    "notifiers": notifiers.load_all,
    "fetchers": fetchers.load_all,
}
_STATUS_SECRET = EnvVar()


def find_problems(settings: Settings) -> list[ConfigError]:
    """Every problem with the plugins' tables, the catalog and the environment they name."""
    problems: list[ConfigError] = []
    for section, load in SECTIONS.items():
        problems += _plugin_problems(getattr(settings, section), section, load())
    if secret_env := settings.status_webhook_secret_env:
        problems += _STATUS_SECRET.check_env(secret_env, os.environ, "status_webhook.secret_env")
    if not settings.enabled_connectors():
        problems.append(ConfigError("connectors", "enable at least one connector"))
    if not settings.catalog_path.is_file():
        problems.append(ConfigError("gateway.catalog", f"{settings.catalog_path} does not exist"))
        return problems
    try:
        catalog = load_catalog(settings.catalog_path)
    except ConfigError as exc:
        return [*problems, exc]
    except OSError as exc:
        return [*problems, ConfigError("gateway.catalog", f"cannot read {exc.filename}")]
    try:
        # Loading proves the model, gazetteer and emergency phrases can be read.
        normalizer = parse_normalizer_settings(settings.normalizer)
        load_normalizer(normalizer, catalog, settings.base_dir, announce=False)
    except ConfigError as exc:
        problems.append(exc)
    return problems


def option_keys(cls: type[Plugin]) -> Mapping[str, Key]:
    """The keys of a plugin's table: its class's, or the web pages' for the channels they read."""
    return WEB_OPTIONS[cls.name] if cls.known_options is None else cls.known_options


def config_schema() -> Table:
    """The schema of the whole of ``config/gateway.toml``, every registered plugin's table in it."""
    plugins = {
        section: Table({name: cls.table(option_keys(cls)) for name, cls in load().items()})
        for section, load in SECTIONS.items()
    }
    return Table({**SCHEMA.keys, **plugins})


def _plugin_problems(
    tables: Mapping[str, PluginSettings], section: str, registry: Mapping[str, type[Plugin]]
) -> list[ConfigError]:
    problems = []
    for plugin in tables.values():
        path = f"{section}.{plugin.name}"
        cls = registry.get(plugin.name)
        if cls is None:
            problems.append(ConfigError(path, f"unknown; {_known(plugin.name, registry)}"))
        elif plugin.enabled:
            problems += cls.validate(plugin.options, keys=option_keys(cls))
        else:
            problems += cls.table(option_keys(cls)).check(plugin.options, path)
    return problems


def _known(name: str, registry: Mapping[str, type[Plugin]]) -> str:
    # The list of every plugin of the kind stays, after the closest name if there is one.
    closest = suggest(name, registry)
    known = f"known: {', '.join(sorted(registry))}"
    return known if closest.startswith("known:") else f"{closest} {known}"
