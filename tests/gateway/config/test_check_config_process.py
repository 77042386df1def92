"""``python -m gateway check-config`` as the operator runs it: a process on a config file, one
line per problem on stderr and exit code 2; and a process that would serve refusing to start."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, TWILIO_TOKEN
from tests.gateway.config.support import renamed, replaced, repo_document, write_document

pytestmark = pytest.mark.timeout(180)


def gateway(
    config: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``sys.executable -m gateway --config CONFIG ARGS`` from the config's project folder."""
    environ = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    for name in ("PORT", "SMTP_PORT", "DATABASE_URL", "SMTP_RELAY_URL", "SENDGRID_INBOUND_AUTH"):
        environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), *args],
        cwd=config.parent.parent,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=150,
    )


def config_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("config error: ")]


def test_check_config_prints_one_line_per_problem_and_exits_2(tmp_path: Path) -> None:
    data = repo_document()
    data = renamed(data, ("server",), "sever")
    data = renamed(data, ("gateway", "city_name"), "city_nam")
    data = replaced(data, ("channels", "smtp", "domains"), "city.gov")
    data = replaced(data, ("channels", "twilio_sms", "number"), 4015550100)
    data = renamed(data, ("channels", "twilio_status", "enabled"), "enable")
    data = replaced(data, ("channels", "sendgrid", "enabled"), True)
    result = gateway(
        write_document(tmp_path, data), "check-config", env={"SENDGRID_INBOUND_AUTH": "nocolon"}
    )
    assert result.returncode == 2, result.stderr
    assert "configuration is valid" not in result.stdout
    assert sorted(config_errors(result.stderr)) == [
        "config error: channels.sendgrid.basic_auth_env: SENDGRID_INBOUND_AUTH must be "
        "user:password (the user and password in the URL the provider calls, with a colon "
        "between them): set it again in that form",
        "config error: channels.smtp.domains: must be a list of strings, not 'city.gov'",
        "config error: channels.twilio_sms.number: must be a string in quotes, not 4015550100",
        "config error: channels.twilio_status.enable: unknown key; did you mean `enabled`?",
        "config error: gateway.city_nam: unknown key; did you mean `city_name`?",
        "config error: sever: unknown table; did you mean `server`?",
    ]
    assert "nocolon" not in result.stderr


def test_the_repositorys_own_config_is_valid() -> None:
    result = gateway(REPO_ROOT / "config" / "gateway.toml", "check-config")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "configuration is valid"
    assert config_errors(result.stderr) == []


def test_the_smtp_listener_refuses_to_start_on_domains_as_a_string(tmp_path: Path) -> None:
    data = replaced(repo_document(), ("channels", "smtp", "domains"), "city.gov")
    result = gateway(write_document(tmp_path, data), "smtp")
    assert result.returncode == 2
    assert config_errors(result.stderr) == [
        "config error: channels.smtp.domains: must be a list of strings, not 'city.gov'"
    ]
