"""Settings: typed values, env overrides, exact key paths for every problem."""

from __future__ import annotations

from pathlib import Path

from gateway.config.settings import load_settings
from tests.support import write_config


def test_env_overrides_port_and_database(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    env = {"PORT": "9099", "SMTP_PORT": "2626", "DATABASE_URL": "postgres://u@db/x"}
    settings, problems = load_settings(path, env=env)
    assert problems == []
    assert settings.server.port == 9099
    assert settings.smtp.port == 2626
    assert settings.database_url == "postgresql+asyncpg://u@db/x"


def test_relative_sqlite_path_is_anchored_at_the_project(tmp_path: Path) -> None:
    settings, _ = load_settings(write_config(tmp_path), env={})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/var/gateway.db"


def test_every_problem_names_its_key_path(tmp_path: Path) -> None:
    overrides = {
        "server": {"port": "eighty", "trust_proxy": "yes"},
        "outbox": {"retry": {"horizon_hours": -1}},
        "messages": {"en": {"received": "{tracking_number"}},
    }
    _, problems = load_settings(write_config(tmp_path, overrides), env={})
    paths = sorted(p.path for p in problems)
    assert paths == [
        "messages.en.received",
        "outbox.retry.horizon_hours",
        "server.port",
        "server.trust_proxy",
    ]


def test_unknown_placeholder_in_a_template_stays_visible(tmp_path: Path) -> None:
    overrides = {"messages": {"en": {"received": "{city} {ticket} {tracking_number}"}}}
    settings, problems = load_settings(write_config(tmp_path, overrides), env={})
    assert problems == []
    assert settings.message("received", city="Newport", tracking_number="K7M2QX") == (
        "Newport {ticket} K7M2QX"
    )


def test_missing_and_broken_files_are_reported(tmp_path: Path) -> None:
    _, missing = load_settings(tmp_path / "nope.toml", env={})
    assert "does not exist" in str(missing[0])
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\nport = 1")
    _, problems = load_settings(broken, env={})
    assert "not valid TOML" in str(problems[0])
