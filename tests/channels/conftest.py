"""Channel tests: each channel served by the real app (or the SMTP listener) on loopback, on
every test database (``database_url`` from the parent conftest), delivering to a drop folder.
A module enables its channel by overriding ``channel_config``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from gateway.store.schema import inbound_messages
from tests.conftest import SHARED_DATA
from tests.support import folder_only, make_settings, merge

EMAILS = sorted((SHARED_DATA / "emails").glob("*.eml"))


@pytest.fixture
def channel_config() -> Mapping[str, Any]:
    """Config overrides on top of folder delivery; none for channels that are on by default."""
    return {}


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str, channel_config: Mapping[str, Any]) -> Runtime:
    """The gateway delivering to a drop folder under ``tmp_path``, with ``channel_config``."""
    overrides = merge(folder_only(tmp_path), channel_config)
    return Runtime(make_settings(tmp_path, database_url, overrides))


async def inbound_rows(runtime: Runtime) -> list[Any]:
    """Every stored inbound row, oldest first."""
    async with runtime.engine.connect() as conn:
        return list(await conn.execute(select(inbound_messages).order_by(inbound_messages.c.id)))
