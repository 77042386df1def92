"""Import cost: the command line and the web process load no scikit-learn or scipy until a model
is trained; each case runs in a fresh interpreter, whose modules no other test has loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from gateway.config.settings import normalize_database_url
from tests.conftest import REPO_ROOT
from tests.support import folder_only, write_config

pytestmark = pytest.mark.timeout(120)

# Training a model needs them; answering, serving and checking the config do not.
TRAINING_ONLY = frozenset({"sklearn", "scipy"})
# What the gateway's work needs and its help does not: the database, HTTP, the normalizer.
WORK_ONLY = frozenset({"sqlalchemy", "aiohttp", "numpy", "normalizer", "channels", "twilio"})
ENTRY_POINTS = ["gateway.cli.main", "gateway.web.app"]


def python(
    *args: str, cwd: Path = REPO_ROOT, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """This interpreter in a fresh process, on this checkout."""
    environ = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=90
    )


def imported(importtime: str) -> set[str]:
    """The top-level packages a ``-X importtime`` report (stderr) names."""
    lines = (line for line in importtime.splitlines() if line.startswith("import time:"))
    names = {line.rpartition("|")[2].strip() for line in lines} - {"imported package"}
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_importing_an_entry_point_loads_no_training_library(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    result = python("-c", code)
    assert result.returncode == 0, result.stderr
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert sorted(loaded & TRAINING_ONLY) == []


@pytest.mark.parametrize("command", [["--help"], ["outbox", "--help"], ["no-such-command"]])
def test_help_and_a_mistyped_command_load_none_of_the_gateways_work(command: list[str]) -> None:
    # Under 0.5 s on any machine comes from this: only argparse and the command table load.
    result = python("-X", "importtime", "-m", "gateway", *command)
    assert result.returncode == (2 if command == ["no-such-command"] else 0), result.stderr
    assert "usage: gateway" in result.stdout + result.stderr
    assert sorted(imported(result.stderr) & (TRAINING_ONLY | WORK_ONLY)) == []


def test_check_config_without_a_model_loads_no_training_library(tmp_path: Path) -> None:
    config = write_config(tmp_path, folder_only(tmp_path))
    url = normalize_database_url(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    command = ["-X", "importtime", "-m", "gateway", "--config", str(config), "check-config"]
    result = python(*command, cwd=tmp_path, env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout
    assert sorted(imported(result.stderr) & TRAINING_ONLY) == []


STORE_COMMANDS = [
    ["outbox", "list"],
    ["inbound", "list"],
    ["api-key", "list"],
    ["purge", "--dry-run"],
    ["backup", "copy.db"],
]


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_a_queue_command_loads_the_store_only(tmp_path: Path, command: list[str]) -> None:
    # No model (numpy), no HTTP stack, no web app: only what reading the database takes.
    config = write_config(tmp_path, folder_only(tmp_path))
    url = normalize_database_url(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    env = {"DATABASE_URL": url}
    migrated = python("-m", "gateway", "--config", str(config), "migrate", cwd=tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    words = ["-X", "importtime", "-m", "gateway", "--config", str(config), *command]
    result = python(*words, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(imported(result.stderr) & {"numpy", "aiohttp", "twilio", "jinja2"}) == []
    assert "sqlalchemy" in imported(result.stderr)
