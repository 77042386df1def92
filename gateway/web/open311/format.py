"""Open311 GeoReport v2 bodies in both of the spec's formats: XML (required) and JSON.

JSON is derived from the XML "Spark convention": a list root becomes an array of objects. XML
keeps the spec's element names: ``<services><service>``, ``<service_requests><request>``,
``<errors><error>``, and ``<service_definition>`` with ``<attributes><attribute>`` and
``<values><value>``. A missing value is an empty element in XML and ``null`` in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from aiohttp import web

JSON_TYPE = "application/json"
XML_TYPE = "text/xml"
FORMATS = ("json", "xml")
# The child element of each list: the spec's names, singular of the parent.
_CHILDREN = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


class Open311Error(Exception):
    """One or more GeoReport errors, answered as the spec's array with one HTTP status."""

    def __init__(self, status: int, *errors: tuple[int | str, str]) -> None:
        super().__init__(errors[0][1] if errors else "error")
        self.status = status
        self.errors = errors or ((status, "error"),)


def w3c(moment: datetime | None) -> str | None:
    """A W3C date-time with its zone (``2025-10-14T13:02:41Z``), as the spec requires."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.replace("+00:00", "Z")


def respond(fmt: str, root: str, body: Any, status: int = 200) -> web.Response:
    """``body`` (a list of mappings, or one mapping) in ``fmt``, with ``root`` as the XML root."""
    if fmt == "xml":
        element = Element(root)
        _fill(element, root, body)
        xml = b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(element, encoding="utf-8")
        return web.Response(body=xml, status=status, content_type=XML_TYPE, charset="utf-8")
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type=JSON_TYPE,
        charset="utf-8",
    )


def error_response(fmt: str, error: Open311Error) -> web.Response:
    """The spec's error array: ``[{"code", "description"}]`` / ``<errors><error>``."""
    body = [{"code": code, "description": text} for code, text in error.errors]
    return respond(fmt if fmt in FORMATS else "json", "errors", body, status=error.status)


def _fill(element: Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(SubElement(element, key), key, item)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        child = _CHILDREN.get(name, "item")
        for item in value:
            _fill(SubElement(element, child), child, item)
    else:
        element.text = _text(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
