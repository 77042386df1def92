"""Typed settings read from ``config/gateway.toml``; secrets only from the environment.

Every problem is a ``ConfigError`` naming its exact key path, so ``check-config`` and start-up can
say ``channels.twilio_sms.auth_token_env: TWILIO_AUTH_TOKEN is not set`` rather than a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config.toml import TomlReader, read_toml
from gateway.errors import ConfigError

DEFAULT_CONFIG = Path("config/gateway.toml")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/gateway.db"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "0.0.0.0"  # noqa: S104 - a webhook receiver must listen beyond loopback.
    port: int = 8080
    public_url: str = ""
    trust_proxy: bool = False
    max_body_bytes: int = 1_048_576


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 2525


@dataclass(frozen=True, slots=True)
class RetrySettings:
    base_seconds: float = 2.0
    max_backoff_seconds: float = 3600.0
    horizon_hours: float = 72.0
    # 0 means no cap: retries continue until the horizon.
    max_attempts: int = 0


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failure_threshold: int = 5
    reset_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    poll_interval_seconds: float = 0.5
    lease_seconds: float = 120.0
    batch_size: int = 20
    delivery_timeout_seconds: float = 30.0
    status_sync_seconds: float = 300.0
    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()


@dataclass(frozen=True, slots=True)
class PluginSettings:
    """One ``[channels.<name>]`` or ``[connectors.<name>]`` table."""

    name: str
    enabled: bool
    options: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the gateway reads at start."""

    base_dir: Path
    database_url: str
    city_name: str = "311"
    server: ServerSettings = ServerSettings()
    smtp: SmtpSettings = SmtpSettings()
    outbox: OutboxSettings = OutboxSettings()
    channels: Mapping[str, PluginSettings] = field(default_factory=dict)
    connectors: Mapping[str, PluginSettings] = field(default_factory=dict)
    notifiers: Mapping[str, PluginSettings] = field(default_factory=dict)
    fetchers: Mapping[str, PluginSettings] = field(default_factory=dict)
    media_folder: Path = Path("var/media")
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    catalog_path: Path = Path("config/services.toml")
    conversation_expiry_hours: float = 24.0
    # The env var with the key CRMs sign status webhooks with; empty: the webhook is off.
    status_webhook_secret_env: str = ""
    normalizer: Mapping[str, Any] = field(default_factory=dict)

    def enabled_channels(self) -> list[PluginSettings]:
        return [c for c in self.channels.values() if c.enabled]

    def enabled_connectors(self) -> list[PluginSettings]:
        return [c for c in self.connectors.values() if c.enabled]

    def enabled_notifiers(self) -> list[PluginSettings]:
        return [n for n in self.notifiers.values() if n.enabled]

    def enabled_fetchers(self) -> list[PluginSettings]:
        return [f for f in self.fetchers.values() if f.enabled]

    def message(self, key: str, language: str = "en", **values: object) -> str:
        """A reply template from ``[messages.<language>]``, English when the language lacks it."""
        template = self.messages.get(language, {}).get(key) or self.messages.get("en", {}).get(key)
        # A placeholder the code does not fill stays visible instead of failing the reply.
        return (template or key).format_map(_KeepUnknown(values))


_DEFAULT_SERVER = ServerSettings()


class _KeepUnknown(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def load_settings(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[Settings, list[ConfigError]]:
    """Read the config file; return the settings and every problem found (empty when valid)."""
    env = os.environ if env is None else env
    path = path or Path(env.get("GATEWAY_CONFIG", str(DEFAULT_CONFIG)))
    try:
        data = read_toml(path, str(path))
    except ConfigError as exc:
        return _fallback(path), [exc]
    reader = TomlReader(data)
    settings = _build(reader, path, env)
    return settings, reader.problems


def _fallback(path: Path) -> Settings:
    return Settings(base_dir=path.resolve().parent.parent, database_url=DEFAULT_DATABASE_URL)


def _build(r: TomlReader, path: Path, env: Mapping[str, str]) -> Settings:
    base_dir = path.resolve().parent.parent
    port = int(env["PORT"]) if env.get("PORT", "").isdigit() else r.int_("server.port", 8080)
    smtp_port = env.get("SMTP_PORT", "")
    return Settings(
        base_dir=base_dir,
        database_url=normalize_database_url(
            env.get("DATABASE_URL") or r.str_("database.url", DEFAULT_DATABASE_URL), base_dir
        ),
        city_name=r.str_("gateway.city_name", "311"),
        server=ServerSettings(
            host=r.str_("server.host", _DEFAULT_SERVER.host),
            port=port,
            public_url=r.str_("server.public_url", "").rstrip("/"),
            trust_proxy=r.bool_("server.trust_proxy", False),
            max_body_bytes=r.int_("server.max_body_bytes", _DEFAULT_SERVER.max_body_bytes),
        ),
        smtp=SmtpSettings(
            enabled=r.bool_("smtp.enabled", True),
            host=r.str_("smtp.host", SmtpSettings().host),
            port=int(smtp_port) if smtp_port.isdigit() else r.int_("smtp.port", 2525),
        ),
        outbox=_outbox(r),
        channels=_plugins(r, "channels"),
        connectors=_plugins(r, "connectors"),
        notifiers=_plugins(r, "notifiers"),
        fetchers=_plugins(r, "fetchers"),
        media_folder=base_dir / r.str_("gateway.media_folder", "var/media"),
        messages=_messages(r),
        catalog_path=base_dir / r.str_("gateway.catalog", "config/services.toml"),
        conversation_expiry_hours=r.num("conversation.expiry_hours", 24.0),
        status_webhook_secret_env=(
            r.str_("status_webhook.secret_env", "")
            if r.bool_("status_webhook.enabled", False)
            else ""
        ),
        normalizer=r.table("normalizer"),
    )


def _outbox(r: TomlReader) -> OutboxSettings:
    d = OutboxSettings()
    return OutboxSettings(
        poll_interval_seconds=r.num("outbox.poll_interval_seconds", d.poll_interval_seconds),
        lease_seconds=r.num("outbox.lease_seconds", d.lease_seconds),
        batch_size=r.int_("outbox.batch_size", d.batch_size),
        delivery_timeout_seconds=r.num(
            "outbox.delivery_timeout_seconds", d.delivery_timeout_seconds
        ),
        status_sync_seconds=r.num("outbox.status_sync_seconds", d.status_sync_seconds),
        retry=RetrySettings(
            base_seconds=r.num("outbox.retry.base_seconds", d.retry.base_seconds),
            max_backoff_seconds=r.num(
                "outbox.retry.max_backoff_seconds", d.retry.max_backoff_seconds
            ),
            horizon_hours=r.num("outbox.retry.horizon_hours", d.retry.horizon_hours),
            max_attempts=r.int_("outbox.retry.max_attempts", d.retry.max_attempts, minimum=0),
        ),
        breaker=BreakerSettings(
            failure_threshold=r.int_(
                "outbox.circuit_breaker.failure_threshold", d.breaker.failure_threshold
            ),
            reset_seconds=r.num("outbox.circuit_breaker.reset_seconds", d.breaker.reset_seconds),
        ),
    )


def _plugins(r: TomlReader, section: str) -> dict[str, PluginSettings]:
    plugins = {}
    for name, table in r.table(section).items():
        if not isinstance(table, Mapping):
            r.problem(f"{section}.{name}", "must be a table")
            continue
        enabled = r.bool_(f"{section}.{name}.enabled", False)
        options = {k: v for k, v in table.items() if k != "enabled"}
        plugins[name] = PluginSettings(name=name, enabled=enabled, options=options)
    return plugins


def _messages(r: TomlReader) -> dict[str, dict[str, str]]:
    messages: dict[str, dict[str, str]] = {}
    for language, table in r.table("messages").items():
        if not isinstance(table, Mapping):
            r.problem(f"messages.{language}", "must be a table of templates")
            continue
        messages[language] = {k: str(v) for k, v in table.items()}
        for key, template in messages[language].items():
            try:
                template.format_map(_KeepUnknown())
            except (ValueError, IndexError) as exc:
                r.problem(f"messages.{language}.{key}", f"is not a valid template: {exc}")
    return messages


def normalize_database_url(url: str, base_dir: Path) -> str:
    """Pick the async driver for the URLs hosts hand out; anchor a relative SQLite path."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    for prefix in ("sqlite:///", "sqlite+aiosqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix) :]
            # A relative file is relative to the project, not to wherever the command ran.
            if path and path != ":memory:" and not Path(path).is_absolute():
                path = str(base_dir / path)
            return "sqlite+aiosqlite:///" + path
    return url
