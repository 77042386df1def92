"""Helpers for the web tests: the Newport catalog, Open311 settings, and XML read back as data."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, fromstring

from gateway.runtime import Runtime
from gateway.web import keys
from tests.support import folder_only, make_settings, merge

NEWPORT = Path(__file__).resolve().parent / "newport_services.toml"
JURISDICTION = "newportri.example.org"
LISTS = {"services", "service_requests", "errors", "attributes", "values", "endpoints", "formats"}


def open311_overrides(root: Path) -> dict[str, Any]:
    return merge(
        folder_only(root),
        {
            "gateway": {"catalog": str(NEWPORT)},
            "channels": {
                "open311": {
                    "enabled": True,
                    "jurisdiction_id": JURISDICTION,
                    "service_types": {"abandoned_vehicle": "batch", "noise": "blackbox"},
                }
            },
        },
    )


async def new_key(runtime: Runtime, name: str = "kiosk") -> str:
    return await keys.create_key(runtime.engine, name)


def xml_data(text: str) -> Any:
    """An Open311 XML body as the JSON it corresponds to, every leaf a string or None."""
    # Our own server's answer, not untrusted input.
    return _convert(fromstring(text.encode("utf-8")))  # noqa: S314


def _convert(element: Element) -> Any:
    if element.tag in LISTS:
        return [_convert(child) for child in element]
    if len(element):
        return {child.tag: _convert(child) for child in element}
    return element.text


def as_text(value: Any) -> Any:
    """JSON data with every leaf as XML would carry it."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return None
    return str(value)


MESSAGES = {
    "en": {
        "web_form_received": "{city}: thanks, we got your report. Tracking number "
        "{tracking_number}. Status: {link}",
        "web_form_subject": "{city}: report {tracking_number} received",
        "access_link": "{city}: open this link once within {minutes} minutes to see your "
        "requests: {link}",
        "access_link_subject": "{city}: your requests",
        "access_code": "{city}: your code is {code}. It works once, for {minutes} minutes.",
    }
}


def form_overrides(root: Path, **options: Any) -> dict[str, Any]:
    """The web form on, with ``options`` in ``[channels.web_form]``, folder delivery."""
    table = {"enabled": True, **options}
    media = {"gateway": {"media_folder": str(root / "media")}}
    pages = {"channels": {"web_form": table}, "messages": MESSAGES}
    return merge(merge(folder_only(root), pages), media)


def form_runtime(root: Path, database_url: str, **options: Any) -> Runtime:
    return Runtime(make_settings(root, database_url, form_overrides(root, **options)))


def hidden(html: str, name: str) -> str:
    """The value of the hidden input ``name`` in a page."""
    import re

    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} in the page"
    return match.group(1)
