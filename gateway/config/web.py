"""The web surface's settings: ``[channels.web_form]`` and ``[channels.open311]`` options.

Both tables are read here, with their defaults, so that the form, the history pages and the
Open311 server agree on one set of limits. Their keys are declared here too (``WEB_OPTIONS``,
the fields of the two dataclasses), not on the channel classes: ``check-config`` and start-up
check the tables against them (``checks.py``), so the pages only ever read values that passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.config.settings import Settings
from gateway.config.toml import EnvVar, Key, MapOf, Text, Whole, keys_of

SERVICE_TYPES = ("realtime", "batch", "blackbox")


@dataclass(frozen=True, slots=True)
class FormSettings:
    """``[channels.web_form]``: the resident-facing pages."""

    enabled: bool = False
    languages: tuple[str, ...] = ("en", "es")
    max_photos: int = 3
    max_photo_bytes: int = 5_242_880
    photo_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp", "image/heic")
    max_description_chars: int = 4000
    # Reports per client address per window, and history code requests per address.
    submissions_per_window: int = 10
    access_requests_per_window: int = 5
    rate_window_seconds: int = 3600
    access_code_minutes: int = 15
    access_code_attempts: int = 5
    # The environment variable with the key that signs CSRF tokens (optional: see gateway.toml).
    secret_env: str = "WEB_FORM_SECRET"  # noqa: S105 - names the variable, holds no secret


@dataclass(frozen=True, slots=True)
class Open311Settings:
    """``[channels.open311]``: the GeoReport v2 server at ``/open311/v2/``."""

    enabled: bool = False
    jurisdiction_id: str = ""
    service_types: Mapping[str, str] = field(default_factory=dict)
    max_requests: int = 1000
    max_days: int = 90


# The keys of the two tables but ``enabled`` (``Plugin.table`` adds it).
WEB_OPTIONS: Mapping[str, Mapping[str, Key]] = {
    "web_form": keys_of(
        FormSettings,
        skip=("enabled",),
        # No photos at all is a choice; every other limit needs at least one.
        max_photos=Whole(minimum=0),
        secret_env=EnvVar(optional=True),
    ),
    "open311": keys_of(
        Open311Settings, skip=("enabled",), service_types=MapOf(Text(choices=SERVICE_TYPES))
    ),
}


@dataclass(frozen=True, slots=True)
class WebSettings:
    form: FormSettings
    open311: Open311Settings


def web_settings(settings: Settings) -> WebSettings:
    """The web settings in ``settings``: each value that passed its key's check, else its
    default (``check-config`` and start-up refuse a table with problems)."""
    return WebSettings(
        form=FormSettings(**_values(settings, "web_form")),
        open311=Open311Settings(**_values(settings, "open311")),
    )


def _values(settings: Settings, name: str) -> dict[str, Any]:
    plugin = settings.channels.get(name)
    keys = WEB_OPTIONS[name]
    values = {
        key: known.read(plugin.options.get(key) if plugin else None) for key, known in keys.items()
    }
    return {**values, "enabled": bool(plugin and plugin.enabled)}
