"""Web tests: the resident pages, the Open311 server and the operations endpoints, served by the
real app on loopback; ``database_url`` and the Twilio token come from the parent conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.runtime import Runtime
from tests.gateway.web.support import form_runtime


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> Runtime:
    """The gateway with the web form on, delivering to a drop folder."""
    return form_runtime(tmp_path, database_url)
