"""The form in a real browser: Debian's headless Chromium driven by Playwright, with and without
JavaScript, then the status page; and a screenshot of the form at phone width."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.conftest import REPO_ROOT
from tests.gateway.web.conftest import NEEDS_CHROMIUM, PHONE
from tests.support import serve

SCREENSHOT = REPO_ROOT / "var" / "screenshots" / "report-form-phone.png"

pytestmark = [
    NEEDS_CHROMIUM,
    pytest.mark.timeout(180),
]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The browser tests run on SQLite only."""
    return sqlite_url


async def fill_report(page: Any, base: str) -> None:
    await page.goto(f"{base}/report?lang=en")
    await page.get_by_label("What is the problem?").fill(
        "Big pothole in the road by 280 Spring St, almost blew my tire"
    )
    await page.get_by_label("Address or nearest intersection").fill("280 Spring St")
    await page.get_by_label("Email").fill("sam.rivera@example.com")


async def test_with_javascript_the_service_is_suggested_and_the_report_filed(
    runtime: Runtime, browser: Any
) -> None:
    async with serve(runtime) as client:
        base = str(client.make_url("")).rstrip("/")
        page = await browser.new_page(viewport=PHONE)
        await fill_report(page, base)
        await page.wait_for_function("document.getElementById('service_code').value === 'pothole'")
        assert "Pothole" in await page.locator("#suggestion").inner_text()
        # Only the chosen service's questions show; the "use my location" button is offered.
        assert await page.locator("#questions-pothole").is_visible()
        assert await page.locator("#locate").is_visible()
        await page.get_by_label("How big is the pothole?").select_option("large")
        await page.get_by_role("button", name="Send report").click()
        await page.wait_for_url(re.compile(r"/requests/[A-Z0-9]{6}"))
        number = await page.locator("#tracking-number").inner_text()
        assert len(number) == 6
        assert await page.locator("#status").inner_text() == "Received"
        await runtime.intake_worker().run_once()
        await page.goto(f"{base}/requests/{number}?lang=es")
        assert await page.locator("#status").inner_text() == "Aceptado"
        assert "Bache" in await page.content()


async def test_without_javascript_the_form_still_files_and_shows_errors(
    runtime: Runtime, browser: Any
) -> None:
    async with serve(runtime) as client:
        base = str(client.make_url("")).rstrip("/")
        context = await browser.new_context(java_script_enabled=False, viewport=PHONE)
        page = await context.new_page()
        await page.goto(f"{base}/report")
        await page.get_by_label("What is the problem?").fill("Street light out on Carey St")
        await page.get_by_role("button", name="Send report").click()
        # Errors come back tied to fields, with the text kept and focusable links to them.
        assert "Please fix" in await page.locator("#error-summary").inner_text()
        assert await page.get_by_label("What is the problem?").input_value() == (
            "Street light out on Carey St"
        )
        await page.get_by_label("Which service?").select_option("street_light")
        await page.get_by_label("Address or nearest intersection").fill("16 Carey St")
        await page.get_by_label("Phone").fill("401-555-0142")
        await page.get_by_role("button", name="Send report").click()
        await page.wait_for_url(re.compile(r"/requests/[A-Z0-9]{6}"))
        assert len(await page.locator("#tracking-number").inner_text()) == 6
        await context.close()


async def test_screenshot_of_the_form_at_phone_width(runtime: Runtime, browser: Any) -> None:
    async with serve(runtime) as client:
        base = str(client.make_url("")).rstrip("/")
        page = await browser.new_page(viewport=PHONE, device_scale_factor=1)
        await page.goto(f"{base}/report?lang=en")
        await page.keyboard.press("Tab")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT), full_page=True)
        width = await page.evaluate("document.documentElement.scrollWidth")
        skip = await page.locator(".skip").bounding_box()
        header = await page.locator("header.top").bounding_box()
    # The focused skip link is shown, above the header rather than over its links.
    assert skip is not None and header is not None and skip["width"] > 0
    assert skip["y"] + skip["height"] <= header["y"] + 1
    # Nothing wider than the phone: no sideways scrolling.
    assert width <= PHONE["width"]
    assert SCREENSHOT.stat().st_size > 10_000
