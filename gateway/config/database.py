"""The database URL: ``[database] url``, or ``DATABASE_URL``, which wins over it.

Hosts hand out ``postgres://`` and ``sqlite:///`` URLs; the gateway runs the async drivers
(``postgresql+asyncpg``, ``sqlite+aiosqlite``), so a URL is normalized before use. A URL that is
neither, or that SQLAlchemy cannot parse, is a ``ConfigError`` that never repeats the URL: a
``DATABASE_URL`` usually holds a password.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/gateway.db"
_FROM_ENV = (
    "DATABASE_URL (which wins over this key) is not a sqlite:/// or postgresql:// URL that "
    "SQLAlchemy can parse: set it to one, e.g. postgresql://user:password@host:5432/gateway"
)


def url_shape(value: str) -> str | None:
    """The check of the ``database.url`` key's value."""
    if is_database_url(value):
        return None
    return "must be a sqlite:/// or postgresql:// URL (or set DATABASE_URL)"


def database_url(
    configured: str, env: Mapping[str, str], base_dir: Path
) -> tuple[str, list[ConfigError]]:
    """The URL the gateway uses, normalized, and the problem with ``DATABASE_URL`` if any."""
    from_env = env.get("DATABASE_URL", "")
    url = normalize_database_url(from_env or configured, base_dir)
    if from_env and not is_database_url(from_env):
        return url, [ConfigError("database.url", _FROM_ENV)]
    return url, []


def is_database_url(url: str) -> bool:
    """True for a SQLite or PostgreSQL URL that SQLAlchemy can parse."""
    normalized = normalize_database_url(url, Path())
    try:
        make_url(normalized)
    except ArgumentError:
        return False
    return normalized.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://"))


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
