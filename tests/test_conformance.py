"""Every plugin is complete, the way Home Assistant's hassfest checks integrations.

STYLE.md, "Adding a channel or connector": one name everywhere. A registered channel,
connector, notifier or fetcher has its ``[<section>.<name>]`` table in ``config/gateway.toml``, a
test module ``tests/**/test_<name>*.py`` and, where the README has a table for its kind, a row
there. And every shared fixture is replayed by some test, except those of channels not built yet,
which are listed below by name so that they cannot be forgotten.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import channels
from gateway import connectors, fetchers, notifiers
from gateway.plugin import Plugin
from tests.conftest import REPO_ROOT, SHARED_FIXTURES

TESTS = REPO_ROOT / "tests"
THIS_FILE = Path(__file__).resolve()

LOADERS: Mapping[str, Callable[[], Mapping[str, type[Plugin]]]] = {
    "channels": channels.load_all,
    "connectors": connectors.load_all,
    "notifiers": notifiers.load_all,
    "fetchers": fetchers.load_all,
}
# The README heading whose tables list each kind.
README_TABLES = {
    "channels": "Channels",
    "connectors": "Connectors",
    "notifiers": "Notifiers and fetchers",
    "fetchers": "Notifiers and fetchers",
}

# Shared fixtures that no test replays yet, because the channel they feed is not built: a path
# prefix under the fixtures folder (a provider folder, or a provider's file-name prefix) -> the
# channel that will replay them. Remove an entry when its channel lands with its tests.
# Every channel the shared fixtures are for is built; a fixture folder for a channel still to
# come would be listed here, prefix to channel name.
NOT_YET_BUILT: dict[str, str] = {}
# Not fixtures: the folders' documentation and the identifiers shared by their files.
NOT_FIXTURES = {"README.md", "_ids.json"}


@dataclass(frozen=True, slots=True)
class Registered:
    kind: str
    name: str
    cls: type[Plugin]


def registered() -> list[Registered]:
    return [
        Registered(kind, name, cls)
        for kind, load in LOADERS.items()
        for name, cls in sorted(load().items())
    ]


PLUGINS = registered()
IDS = [f"{p.kind}.{p.name}" for p in PLUGINS]


@cache
def config() -> dict[str, object]:
    with (REPO_ROOT / "config" / "gateway.toml").open("rb") as handle:
        return tomllib.load(handle)


def readme_tables() -> dict[str, list[str]]:
    """Each ``## Heading`` of the README and the first cells of its table's rows."""
    tables: dict[str, list[str]] = {}
    heading = ""
    for line in (REPO_ROOT / "README.md").read_text().splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
        elif line.startswith("|") and heading:
            first = line.strip("|").split("|", 1)[0].strip()
            if first and not set(first) <= set("-: "):
                tables.setdefault(heading, []).append(first)
    return tables


@dataclass(frozen=True, slots=True)
class Sources:
    """What the tests say: every file's text, and the glob patterns in their Python code."""

    texts: tuple[str, ...]
    patterns: frozenset[str]

    def uses(self, relative: str) -> bool:
        """True when a test names the fixture's file or a glob that matches it."""
        name = relative.rsplit("/", 1)[-1]
        if any(name in text for text in self.texts):
            return True
        return any(
            fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(relative, p) for p in self.patterns
        )


def _is_fixture_glob(value: str) -> bool:
    # A pattern names fixtures only with a literal stem before its first wildcard ("sms_*.form");
    # "*.json" globs some test's own output and would make every JSON fixture look used.
    return bool(re.fullmatch(r"[\w./-]*\w[\w./-]*[*?][\w.*?/-]*", value)) and "**" not in value


@cache
def read_sources() -> Sources:
    """Every file under tests/ but this one (whose own table names fixtures), read once."""
    texts, patterns = [], set()
    for path in sorted(TESTS.rglob("*")):
        if not path.is_file() or path.resolve() == THIS_FILE or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        texts.append(text)
        if path.suffix == ".py":
            for node in ast.walk(ast.parse(text)):
                value = node.value if isinstance(node, ast.Constant) else None
                if isinstance(value, str) and _is_fixture_glob(value):
                    patterns.add(value)
    return Sources(tuple(texts), frozenset(patterns))


def shared_fixtures() -> list[str]:
    """Every shared fixture, as its path under the fixtures folder."""
    return sorted(
        path.relative_to(SHARED_FIXTURES).as_posix()
        for path in SHARED_FIXTURES.rglob("*")
        if path.is_file() and path.name not in NOT_FIXTURES
    )


def pending(relative: str) -> str | None:
    """The not-yet-built channel a fixture belongs to, if any."""
    return next((ch for prefix, ch in NOT_YET_BUILT.items() if relative.startswith(prefix)), None)


def test_every_kind_of_plugin_is_registered() -> None:
    # An empty registry would make every parametrized check below vanish, not fail.
    kinds = {p.kind for p in PLUGINS}
    assert kinds == set(LOADERS), f"no plugin registered for {sorted(set(LOADERS) - kinds)}"


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
def test_plugin_has_its_config_table(plugin: Registered) -> None:
    section = config().get(plugin.cls.section)
    assert plugin.cls.section == plugin.kind
    assert isinstance(section, dict) and isinstance(section.get(plugin.name), dict), (
        f"config/gateway.toml has no [{plugin.cls.section}.{plugin.name}] table"
    )


@pytest.mark.parametrize("plugin", PLUGINS, ids=IDS)
def test_plugin_has_a_test_module(plugin: Registered) -> None:
    found = sorted(TESTS.rglob(f"test_{plugin.name}*.py"))
    assert found, f"no tests/**/test_{plugin.name}*.py for {plugin.kind} {plugin.name!r}"


@pytest.mark.parametrize(
    "plugin", [p for p in PLUGINS if p.kind in README_TABLES], ids=lambda p: f"{p.kind}.{p.name}"
)
def test_plugin_has_a_readme_row(plugin: Registered) -> None:
    heading = README_TABLES[plugin.kind]
    rows = readme_tables().get(heading, [])
    assert any(f"`{plugin.name}`" in cell for cell in rows), (
        f"README.md's {heading!r} table has no row for `{plugin.name}`"
    )


def test_readme_tables_are_the_ones_checked() -> None:
    tables = readme_tables()
    missing = {kind: h for kind, h in README_TABLES.items() if h not in tables}
    assert not missing, f"README.md lost its tables: {missing}"
    # A kind whose table appears must be checked too: add it to README_TABLES.
    unchecked = [k for k in LOADERS if k not in README_TABLES and k.capitalize() in tables]
    assert not unchecked, f"README.md has tables for {unchecked}; add them to README_TABLES"


def test_every_shared_fixture_is_used_by_a_test_or_awaits_its_channel() -> None:
    fixtures = shared_fixtures()
    assert fixtures, f"no fixtures under {SHARED_FIXTURES}"
    unused = [f for f in fixtures if not read_sources().uses(f)]
    awaiting = [f for f in fixtures if pending(f) is not None]
    assert unused == awaiting, (
        f"fixtures no test uses: {sorted(set(unused) - set(awaiting))}; "
        f"NOT_YET_BUILT fixtures already used (remove their entry): "
        f"{sorted(set(awaiting) - set(unused))}"
    )


def test_not_yet_built_channels_are_indeed_not_built() -> None:
    # Empty now that every channel with shared fixtures is built; an entry added for a channel
    # to come is checked here.
    registered = channels.load_all()
    for prefix, channel in NOT_YET_BUILT.items():
        assert channel not in registered, (
            f"channel {channel!r} is registered: remove {prefix!r} from NOT_YET_BUILT"
        )
        assert any(f.startswith(prefix) for f in shared_fixtures()), (
            f"no shared fixture starts with {prefix!r}: the entry is stale"
        )


def test_fixture_use_is_seen_through_names_and_globs_but_not_bare_extensions() -> None:
    sources = Sources(("load('sms_stop.form')",), frozenset({"voice_*.form"}))
    assert sources.uses("twilio/sms_stop.form")
    assert sources.uses("twilio/voice_gather_digits.form")
    assert not sources.uses("twilio/sms_help.form")
    assert _is_fixture_glob("message_status_*.form")
    assert _is_fixture_glob("twilio/sms_*.form")
    assert not _is_fixture_glob("*.json")
    assert not _is_fixture_glob(".*")
    assert not _is_fixture_glob("a * b")
