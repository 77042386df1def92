"""CLI tests: ``python -m gateway`` run as a process on a project folder (a config and a SQLite
file), with ``REPO_ROOT`` from the parent conftest first on its path."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.config.settings import normalize_database_url
from gateway.store.migrate import upgrade
from tests.conftest import REPO_ROOT
from tests.support import folder_only, write_config


@dataclass(frozen=True)
class Gateway:
    """A project folder with a config and a SQLite file, and the CLI to run against them."""

    root: Path
    config: Path
    database_url: str

    def run(
        self, *args: str, env: Mapping[str, str | None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m gateway --config ... ARGS`` as a process; ``None`` in ``env`` unsets."""
        environ = {**os.environ, "DATABASE_URL": self.database_url}
        # The checkout first, so the CLI under test is this one whatever the working directory.
        environ["PYTHONPATH"] = str(REPO_ROOT)
        # PORT would win over server.port and hide a wrong value there.
        environ.pop("PORT", None)
        for key, value in (env or {}).items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        return subprocess.run(
            [sys.executable, "-m", "gateway", "--config", str(self.config), *args],
            cwd=self.root,
            env=environ,
            capture_output=True,
            text=True,
            timeout=90,
        )


def project(root: Path, overrides: Mapping[str, Any] | None = None) -> Gateway:
    """A project under ``root`` delivering to a drop folder, with ``overrides`` in its config."""
    config = write_config(root, {**folder_only(root), **(overrides or {})})
    url = normalize_database_url(f"sqlite:///{root / 'gateway.db'}", root)
    return Gateway(root, config, url)


@pytest.fixture
def project_config() -> Mapping[str, Any]:
    """The config overrides of the ``gateway`` fixture's project; a module may override it."""
    return {}


@pytest.fixture
async def gateway(tmp_path: Path, project_config: Mapping[str, Any]) -> Gateway:
    """A project with a migrated database (each CLI start costs seconds, so not by the CLI)."""
    gw = project(tmp_path, project_config)
    await upgrade(gw.database_url)
    return gw
