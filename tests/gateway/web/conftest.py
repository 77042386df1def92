"""Web tests: the resident pages, the Open311 server and the operations endpoints, served by the
real app on loopback; ``database_url`` and the Twilio token come from the parent conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.gateway.web.support import form_runtime


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> Runtime:
    """The gateway with the web form on, delivering to a drop folder."""
    return form_runtime(tmp_path, database_url)


# Debian's chromium, never a downloaded browser build; the flags keep it off the closed network.
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A phone's viewport, for the pages most residents open on one.
PHONE = {"width": 390, "height": 844}
NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium)"
)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium driven by Playwright."""
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
