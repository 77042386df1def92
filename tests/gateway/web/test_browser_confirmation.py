"""The confirmation page in Debian's headless Chromium at phone width, with the email notifier on
and off: it says what will really happen, fits the phone, and is kept as a screenshot in
``var/screenshots/confirmation-<on|off>-<language>.png`` for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.conftest import REPO_ROOT
from tests.gateway.web.conftest import NEEDS_CHROMIUM, PHONE
from tests.gateway.web.support import form_overrides
from tests.support import make_settings, merge, serve

SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
LABELS = {
    "en": ("What is the problem?", "Address or nearest intersection", "Email", "Send report"),
    "es": ("¿Cuál es el problema?", "Dirección o cruce más cercano", "Correo electrónico",
           "Enviar reporte"),
}  # fmt: skip
SAID = {
    ("en", True): "We are sending a confirmation to s***@example.com.",
    ("en", False): "Keep this number: we cannot email you from this system yet.",
    ("es", True): "Le estamos enviando una confirmación a s***@example.com.",
    ("es", False): "Guarde este número: todavía no podemos enviarle correos desde este sistema.",
}

pytestmark = [
    NEEDS_CHROMIUM,
    pytest.mark.timeout(180),
]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The browser tests run on SQLite only."""
    return sqlite_url


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("on", [True, False], ids=["email-on", "email-off"])
async def test_the_confirmation_page_at_phone_width_says_what_will_happen(
    tmp_path: Path, database_url: str, browser: Any, on: bool, lang: str
) -> None:
    overrides = merge(form_overrides(tmp_path), {"notifiers": {"email": {"enabled": on}}})
    runtime = Runtime(make_settings(tmp_path, database_url, overrides))
    problem, address, email, send = LABELS[lang]
    shot = SCREENSHOTS / f"confirmation-{'on' if on else 'off'}-{lang}.png"
    async with serve(runtime) as client:
        base = str(client.make_url("")).rstrip("/")
        page = await browser.new_page(viewport=PHONE, device_scale_factor=1)
        await page.goto(f"{base}/report?lang={lang}")
        await page.get_by_label(problem).fill("Streetlight out in front of 16 Carey St")
        await page.get_by_label(address).fill("16 Carey St")
        await page.get_by_label(email, exact=True).fill("sam.rivera@example.com")
        await page.get_by_role("button", name=send).click()
        await page.wait_for_url(re.compile(r"/requests/[A-Z0-9]{6}"))
        said = await page.locator("#confirmation").inner_text()
        number = await page.locator("#tracking-number").inner_text()
        shot.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(shot), full_page=True)
        width = await page.evaluate("document.documentElement.scrollWidth")
        box = await page.locator("#confirmation").bounding_box()
    assert said.startswith(SAID[(lang, on)]), said
    assert len(number) == 6
    # The whole sentence is on the phone's screen: nothing wider, no sideways scrolling.
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert width <= PHONE["width"]
    assert shot.stat().st_size > 10_000
