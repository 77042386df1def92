"""Whole-configuration checks for ``check-config`` and start-up, beyond each key's own type."""

from __future__ import annotations

import os
from collections.abc import Mapping

import channels
from gateway import connectors, fetchers, notifiers
from gateway.config.catalog import load_catalog
from gateway.config.normalizer import load_normalizer, parse_normalizer_settings
from gateway.config.settings import PluginSettings, Settings
from gateway.config.web import web_settings
from gateway.errors import ConfigError
from gateway.plugin import Plugin

_DRIVERS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


def find_problems(settings: Settings) -> list[ConfigError]:
    """Every problem with the settings, the catalog and the environment they name."""
    problems: list[ConfigError] = []
    if not settings.database_url.startswith(_DRIVERS):
        problems.append(
            ConfigError(
                "database.url", "must be a sqlite:/// or postgresql:// URL (or set DATABASE_URL)"
            )
        )
    problems += _plugin_problems(settings, "channels", channels.load_all())
    problems += _plugin_problems(settings, "connectors", connectors.load_all())
    problems += _plugin_problems(settings, "notifiers", notifiers.load_all())
    problems += _plugin_problems(settings, "fetchers", fetchers.load_all())
    secret_env = settings.status_webhook_secret_env
    if secret_env and secret_env not in os.environ:
        problems.append(ConfigError("status_webhook.secret_env", f"{secret_env} is not set"))
    try:
        web_settings(settings)
    except ConfigError as exc:
        problems.append(exc)
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
        load_normalizer(parse_normalizer_settings(settings.normalizer), catalog, settings.base_dir)
    except ConfigError as exc:
        problems.append(exc)
    return problems


def _plugin_problems(
    settings: Settings, section: str, registry: Mapping[str, type[Plugin]]
) -> list[ConfigError]:
    table: Mapping[str, PluginSettings] = getattr(settings, section)
    problems = []
    for plugin in table.values():
        if plugin.name not in registry:
            known = ", ".join(sorted(registry))
            problems.append(ConfigError(f"{section}.{plugin.name}", f"unknown; known: {known}"))
        elif plugin.enabled:
            problems += registry[plugin.name].validate(plugin.options)
    return problems
