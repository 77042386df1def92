"""Contacts blanked in free text: the request's own however written, and any other email address
or phone number; ordinary words, street numbers and short values are left alone."""

from __future__ import annotations

import pytest

from gateway.redaction import REDACTED, contact_pattern, redact_detail, redact_text, redact_value

OWN = contact_pattern(
    ["+14015550123", "Sam Rivera", "Sam.Rivera@Example.com", "whatsapp:+14015550185", "Al"]
)


@pytest.mark.parametrize(
    "text",
    [
        "call +14015550123",
        "call 401-555-0123",
        "call (401) 555 0123",
        "call 401.555.0123",
        "call 1 401 555 0123",
        "SAM RIVERA wrote this",
        "mail sam.rivera@example.com",
        "wa +14015550185",
        "my neighbour is at jo@example.org",
        "or her cell 212-555-0187",
    ],
)
def test_a_contact_however_written_is_blanked(text: str) -> None:
    blanked = redact_text(text, OWN)
    assert REDACTED in blanked
    assert "@" not in blanked and "rivera" not in blanked.lower()
    assert not any(ch.isdigit() for ch in blanked), blanked


def test_ordinary_text_is_left_alone() -> None:
    text = "Pothole at 280 Spring St near Al's Diner, pole 1234, since 2025-10-14"
    assert redact_text(text, OWN) == text


def test_nested_values_are_blanked_and_other_types_kept() -> None:
    value = {"note": ["ring Sam Rivera", {"n": 3, "phone": "4015550123"}], "ok": True}
    assert redact_value(value, OWN) == {
        "note": [f"ring {REDACTED}", {"n": 3, "phone": REDACTED}],
        "ok": True,
    }


def test_no_contacts_long_enough_make_no_pattern() -> None:
    assert contact_pattern([None, "", "Al"]) is None


def test_a_history_entry_keeps_machine_ids_and_loses_contacts() -> None:
    detail = {
        "case_id": "2025001234",
        "provider_id": "SM7fb97486d8dc91e8d3d54f49ec05aa44",
        "note": "Crew called 212-555-0187",
        "text": "it's me again, jo@example.org",
        "to": "+14015550123",
    }
    assert redact_detail(detail, OWN) == {
        "case_id": "2025001234",
        "provider_id": "SM7fb97486d8dc91e8d3d54f49ec05aa44",
        "note": f"Crew called {REDACTED}",
        "text": f"it's me again, {REDACTED}",
        "to": REDACTED,
    }
