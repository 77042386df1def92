"""The resident pages' labels per language, from ``gateway/web/i18n/<language>.toml``.

A label missing in a language falls back to English; a language without a file falls back to
English as a whole. Placeholders ``{name}`` are filled like the reply templates.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

FOLDER = Path(__file__).resolve().parent / "i18n"


@cache
def catalogs() -> Mapping[str, Mapping[str, str]]:
    """Every language file, read once."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(FOLDER.glob("*.toml")):
        with path.open("rb") as fh:
            found[path.stem] = {k: str(v) for k, v in tomllib.load(fh).items()}
    return found


def pick_language(wanted: str, offered: tuple[str, ...]) -> str:
    """``wanted`` when the form offers it and a file exists, else the first offered, else en."""
    known = [lang for lang in offered if lang in catalogs()] or ["en"]
    return wanted if wanted in known else known[0]


class Labels:
    """The labels of one language, as the templates use them: ``t("key", name=value)``."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.own = catalogs().get(language, {})
        self.english = catalogs().get("en", {})

    def __call__(self, key: str, **values: object) -> str:
        text = self.own.get(key) or self.english.get(key) or key
        return text.format(**values) if values else text


def local_time(value: datetime, fmt: str, zone: ZoneInfo) -> str:
    """``value`` (stored in UTC) as the city reads it, in ``zone``."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(zone).strftime(fmt)
