"""Typed settings read from ``config/gateway.toml``; secrets only from the environment.

``SCHEMA`` declares the gateway's own tables (most as the keys of their settings dataclass);
a plugin's table is on its class, checked by ``checks.py``. Every problem is a ``ConfigError``
naming its exact key path: ``server.port: must be an integer >= 1, not 'abc'``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config.database import DEFAULT_DATABASE_URL, database_url, url_shape
from gateway.config.database import normalize_database_url as normalize_database_url
from gateway.config.normalizer_settings import NORMALIZER
from gateway.config.toml import (
    EnvVar,
    Flag,
    MapOf,
    Number,
    Plugins,
    Table,
    Text,
    Whole,
    http_url,
    keys_of,
    read_toml,
    time_zone,
)
from gateway.errors import ConfigError
from gateway.records import Status
from gateway.tracking import MAX_SERIES

DEFAULT_CONFIG = Path("config/gateway.toml")


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "0.0.0.0"  # noqa: S104 - a webhook receiver must listen beyond loopback.
    port: int = 8080
    public_url: str = ""
    trust_proxy: bool = False
    max_body_bytes: int = 1_048_576
    # The variable holding the bearer token /metrics asks for; empty: /metrics is open.
    metrics_token_env: str = ""
    # On SIGTERM: how long requests, SMTP sessions and deliveries in progress may take to finish
    # before what is left is cut off (claimed jobs are given back, never lost).
    shutdown_seconds: float = 20.0


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
    lease_seconds: float = 15.0
    batch_size: int = 20
    delivery_timeout_seconds: float = 30.0
    status_sync_seconds: float = 300.0
    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()


@dataclass(frozen=True, slots=True)
class TrackingSettings:
    # The database's tracking series (gateway/tracking.py): one of its own for each database.
    series: int = 0


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    # Days a closed request keeps its reporter's contact details (counted from its last change);
    # 0 keeps them for ever.
    contact_days: int = 365
    # Days a stored message keeps its raw payload once its work is done and its request closed
    # (or it made none), counted from receipt; 0 keeps them for ever.
    raw_days: int = 90


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
    tracking: TrackingSettings = TrackingSettings()
    retention: RetentionSettings = RetentionSettings()
    channels: Mapping[str, PluginSettings] = field(default_factory=dict)
    connectors: Mapping[str, PluginSettings] = field(default_factory=dict)
    notifiers: Mapping[str, PluginSettings] = field(default_factory=dict)
    fetchers: Mapping[str, PluginSettings] = field(default_factory=dict)
    media_folder: Path = Path("var/media")
    # The IANA time zone residents read times in (pages, messages); stored times stay UTC.
    time_zone: str = "UTC"
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


class _KeepUnknown(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _template(value: str) -> str | None:
    try:
        value.format_map(_KeepUnknown())
    except (ValueError, IndexError) as exc:
        return f"is not a valid template: {exc}"
    return None


# What a caller hears at each step of a call (``gateway/voice/flow.py``), ``voice_<key>``.
VOICE_PROMPTS = (
    "greeting", "language", "problem", "no_input", "emergency", "confirm_service", "menu_item",
    "menu_more", "place", "confirm_place", "place_retry", "place_kept", "record", "contact",
    "text_copy", "tracking", "repeat", "goodbye", "operator", "operator_closed",
)  # fmt: skip
# What the gateway says to residents, ``[messages.<language>]``: the templates the code fills.
MESSAGE_KEYS = (
    "received", "confirmation", "help", "emergency", "ask_location", "ask_service", "completed",
    "status_reply", "status_unknown", "status_changed", *(f"status_{s.value}" for s in Status),
    "web_form_received", "web_form_subject", "access_link", "access_link_subject", "access_code",
    *(f"voice_{key}" for key in VOICE_PROMPTS),
)  # fmt: skip
SCHEMA = Table(
    {
        "gateway": Table(
            {
                "city_name": Text("311"),
                "catalog": Text("config/services.toml", nonempty=True),
                "media_folder": Text("var/media", nonempty=True),
                "time_zone": Text("UTC", nonempty=True, shape=time_zone),
            }
        ),
        "server": Table(
            keys_of(
                ServerSettings,
                public_url=Text(shape=http_url),
                metrics_token_env=EnvVar(optional=True),
            )
        ),
        "database": Table({"url": Text(DEFAULT_DATABASE_URL, nonempty=True, shape=url_shape)}),
        "smtp": Table(keys_of(SmtpSettings)),
        "outbox": Table(
            {
                **keys_of(OutboxSettings, skip=("retry", "breaker")),
                "retry": Table(keys_of(RetrySettings, max_attempts=Whole(minimum=0))),
                "circuit_breaker": Table(keys_of(BreakerSettings)),
            }
        ),
        "tracking": Table(keys_of(TrackingSettings, series=Whole(minimum=0, maximum=MAX_SERIES))),
        "retention": Table(
            keys_of(RetentionSettings, contact_days=Whole(minimum=0), raw_days=Whole(minimum=0))
        ),
        "channels": Plugins(),
        "connectors": Plugins(),
        "normalizer": NORMALIZER,
        "notifiers": Plugins(),
        "fetchers": Plugins(),
        "status_webhook": Table(
            {"enabled": Flag(False), "secret_env": EnvVar("CASE_STATUS_SECRET")}
        ),
        "conversation": Table({"expiry_hours": Number(24.0)}),
        "messages": MapOf(Table({key: Text(shape=_template) for key in MESSAGE_KEYS})),
    }
)


def load_settings(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[Settings, list[ConfigError]]:
    """Read the config file; return the settings and every problem found (empty when valid)."""
    env = os.environ if env is None else env
    path = path or Path(env.get("GATEWAY_CONFIG", str(DEFAULT_CONFIG)))
    try:
        data = read_toml(path, str(path))
    except ConfigError as exc:
        base_dir = path.resolve().parent.parent
        return Settings(base_dir=base_dir, database_url=DEFAULT_DATABASE_URL), [exc]
    problems = SCHEMA.check(data, "")
    settings, env_problems = _build(SCHEMA.read(data), path, env)
    return settings, problems + env_problems


def _build(
    v: Mapping[str, Any], path: Path, env: Mapping[str, str]
) -> tuple[Settings, list[ConfigError]]:
    """The settings from the file's values, the environment's overrides winning."""
    base_dir = path.resolve().parent.parent
    url, problems = database_url(v["database"]["url"], env, base_dir)
    server, smtp = v["server"], v["smtp"]
    port = _env_port(env, "PORT", "server.port", problems) or server["port"]
    smtp_port = _env_port(env, "SMTP_PORT", "smtp.port", problems) or smtp["port"]
    webhook = v["status_webhook"]
    settings = Settings(
        base_dir=base_dir,
        database_url=url,
        city_name=v["gateway"]["city_name"],
        server=ServerSettings(
            **{**server, "port": port, "public_url": server["public_url"].rstrip("/")}
        ),
        smtp=SmtpSettings(**{**smtp, "port": smtp_port}),
        outbox=_outbox(v["outbox"]),
        tracking=TrackingSettings(**v["tracking"]),
        retention=RetentionSettings(**v["retention"]),
        channels=_plugins(v["channels"]),
        connectors=_plugins(v["connectors"]),
        notifiers=_plugins(v["notifiers"]),
        fetchers=_plugins(v["fetchers"]),
        media_folder=base_dir / v["gateway"]["media_folder"],
        time_zone=v["gateway"]["time_zone"],
        messages=v["messages"],
        catalog_path=base_dir / v["gateway"]["catalog"],
        conversation_expiry_hours=v["conversation"]["expiry_hours"],
        status_webhook_secret_env=webhook["secret_env"] if webhook["enabled"] else "",
        normalizer=v["normalizer"],
    )
    return settings, problems


def _env_port(
    env: Mapping[str, str], name: str, key: str, problems: list[ConfigError]
) -> int | None:
    value = env.get(name, "").strip()
    if value.isdigit() and 1 <= int(value) <= 65535:
        return int(value)
    if value:
        message = f"{name} (which wins over this key) must be a port number from 1 to 65535"
        problems.append(ConfigError(key, message))
    return None


def _outbox(o: Mapping[str, Any]) -> OutboxSettings:
    retry, breaker = RetrySettings(**o["retry"]), BreakerSettings(**o["circuit_breaker"])
    simple = {k: v for k, v in o.items() if k not in ("retry", "circuit_breaker")}
    return OutboxSettings(**simple, retry=retry, breaker=breaker)


def _plugins(section: Mapping[str, Any]) -> dict[str, PluginSettings]:
    """Each plugin's ``enabled`` (false unless true) and options, which checks.py checks."""
    plugins = {}
    for name, table in section.items():
        if isinstance(table, Mapping):
            options = {k: v for k, v in table.items() if k != "enabled"}
            plugins[name] = PluginSettings(name, table.get("enabled") is True, options)
    return plugins
