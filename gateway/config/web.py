"""The web surface's settings: ``[channels.web_form]`` and ``[channels.open311]`` options.

Both tables are read here, with their defaults, so that the form, the history pages and the
Open311 server agree on one set of limits. A wrong value is a ``ConfigError`` naming its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.config.settings import Settings
from gateway.errors import ConfigError

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


@dataclass(frozen=True, slots=True)
class WebSettings:
    form: FormSettings
    open311: Open311Settings


def web_settings(settings: Settings) -> WebSettings:
    """The web settings in ``settings``, validated."""
    return WebSettings(form=_form(settings), open311=_open311(settings))


def _options(settings: Settings, name: str) -> tuple[bool, Mapping[str, Any]]:
    plugin = settings.channels.get(name)
    return (plugin.enabled, plugin.options) if plugin else (False, {})


def _form(settings: Settings) -> FormSettings:
    enabled, o = _options(settings, "web_form")
    d, path = FormSettings(), "channels.web_form"
    return FormSettings(
        enabled=enabled,
        languages=tuple(_get(o, path, "languages", list(d.languages), list)),
        max_photos=_get(o, path, "max_photos", d.max_photos, int),
        max_photo_bytes=_get(o, path, "max_photo_bytes", d.max_photo_bytes, int),
        photo_types=tuple(_get(o, path, "photo_types", list(d.photo_types), list)),
        max_description_chars=_get(o, path, "max_description_chars", 4000, int),
        submissions_per_window=_get(o, path, "submissions_per_window", 10, int),
        access_requests_per_window=_get(o, path, "access_requests_per_window", 5, int),
        rate_window_seconds=_get(o, path, "rate_window_seconds", 3600, int),
        access_code_minutes=_get(o, path, "access_code_minutes", 15, int),
        access_code_attempts=_get(o, path, "access_code_attempts", 5, int),
        secret_env=_get(o, path, "secret_env", d.secret_env, str),
    )


def _open311(settings: Settings) -> Open311Settings:
    enabled, o = _options(settings, "open311")
    path = "channels.open311"
    types = _get(o, path, "service_types", {}, dict)
    for code, kind in types.items():
        if kind not in SERVICE_TYPES:
            raise ConfigError(f"{path}.service_types.{code}", f"must be one of {SERVICE_TYPES}")
    return Open311Settings(
        enabled=enabled,
        jurisdiction_id=_get(o, path, "jurisdiction_id", "", str),
        service_types=types,
        max_requests=_get(o, path, "max_requests", 1000, int),
        max_days=_get(o, path, "max_days", 90, int),
    )


def _get(options: Mapping[str, Any], path: str, key: str, default: Any, kind: type) -> Any:
    value = options.get(key, default)
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        raise ConfigError(f"{path}.{key}", f"must be a {kind.__name__}")
    if isinstance(value, int) and value < 0:
        raise ConfigError(f"{path}.{key}", "must not be negative")
    return value
