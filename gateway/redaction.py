"""Blanking a resident's contact details inside free text: the retention purge's part that is
pure functions (``gateway.store.retention`` reads and writes the rows).

A request's own contacts (its reporter's name, phone, email and reply address, and whatever its
messages declared) are blanked wherever they appear, a phone number however it was written
(``401-555-0123`` for ``+14015550123``); then any other email address or phone number left in the
text goes too, since a resident writes a neighbour's or a landlord's as readily as their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# Shorter values (an initial, a two-letter nickname) match ordinary words too often.
_MIN_LENGTH = 3
# A national number is its last ten digits (NANP); shorter numbers are matched whole.
_NATIONAL_DIGITS = 10
_SEPARATORS = r"[\s().-]*"
# What a contact looks like in free text (as gateway.log masks them): an email address, an E.164
# number, a North American number written the usual ways.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d{7,15}\b|\(?\b\d{3}\)?[ .-]?\d{3}[ .-]\d{4}\b|\b1?\d{10}\b")


def contact_pattern(values: Iterable[str | None]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every contact in ``values``, or None when none is long
    enough to blank safely."""
    alternatives: set[str] = set()
    for value in values:
        value = (value or "").strip()
        if len(value) < _MIN_LENGTH:
            continue
        alternatives.add(re.escape(value))
        if value.startswith("whatsapp:"):
            alternatives.add(re.escape(value.removeprefix("whatsapp:")))
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 7 and "@" not in value:
            national = digits[-_NATIONAL_DIGITS:]
            alternatives.add(r"(?:\+?\d{1,3}" + _SEPARATORS + ")?" + _SEPARATORS.join(national))
    if not alternatives:
        return None
    ordered = sorted(alternatives, key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(ordered)})(?!\w)", re.IGNORECASE)


def redact_text(text: str, pattern: re.Pattern[str] | None, *, any_contact: bool = True) -> str:
    """``text`` without the contacts ``pattern`` matches and, with ``any_contact``, without any
    email address or phone number (for what people wrote, not for ids a machine made)."""
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    if not any_contact:
        return text
    text = _EMAIL.sub(REDACTED, text)
    return _PHONE.sub(REDACTED, text)


def redact_value(value: Any, pattern: re.Pattern[str] | None, *, any_contact: bool = True) -> Any:
    """A JSON value with contacts blanked in its strings, however deeply nested."""
    if isinstance(value, str):
        return redact_text(value, pattern, any_contact=any_contact)
    if isinstance(value, Mapping):
        return {k: redact_value(v, pattern, any_contact=any_contact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, pattern, any_contact=any_contact) for v in value]
    return value


# The history entries' keys that hold what a person wrote (a resident's update, the city's note);
# the others hold ids and numbers a machine made (a case id may well have ten digits).
WRITTEN = frozenset({"text", "note", "reason"})


def redact_detail(detail: Mapping[str, Any], pattern: re.Pattern[str] | None) -> dict[str, Any]:
    """A history entry's detail with the request's contacts blanked everywhere, and any other
    contact blanked in what a person wrote."""
    return {
        key: redact_value(value, pattern, any_contact=key in WRITTEN)
        for key, value in detail.items()
    }
