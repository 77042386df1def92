"""Text clean-up on real emails, HTML, broken encodings and emoji."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from normalizer.text import clean_email_text, clean_text, html_to_text
from tests.conftest import SHARED_DATA

EMAILS = sorted((SHARED_DATA / "emails").glob("*.eml"))


def _body(path: Path) -> str:
    """The text or HTML body of an email file, however broken."""
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        return str(part.get_content()) if part is not None else ""
    except (LookupError, ValueError, KeyError):
        payload = msg.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


@pytest.mark.parametrize("path", EMAILS, ids=lambda p: p.stem)
def test_every_email_cleans_without_an_exception(path: Path) -> None:
    body = _body(path)
    cleaned = clean_email_text(body, ("en", "es"))
    assert isinstance(cleaned, str)
    assert len(cleaned) <= len(body) + 1


@pytest.mark.parametrize(
    "name", ["talon__reply_gmail", "talon__reply_outlook", "talon__reply_yahoo"]
)
def test_quoted_reply_is_removed(name: str) -> None:
    cleaned = clean_email_text(_body(SHARED_DATA / "emails" / f"{name}.eml"))
    assert cleaned == "Hello"


def test_reply_keeps_new_text_and_drops_the_quote() -> None:
    body = (
        "It's at the corner of Spring St and Memorial Blvd.\n\n"
        "On Tue, Oct 14, 2025 at 9:12 AM Newport 311 <311@example.org> wrote:\n"
        "> Where is the pothole?\n> Reply to this email."
    )
    assert clean_email_text(body) == "It's at the corner of Spring St and Memorial Blvd."


def test_html_becomes_text() -> None:
    html = "<html><body><p>Pothole on <b>Ann St</b></p><script>x()</script></body></html>"
    assert clean_text(html) == "Pothole on\nAnn St"
    assert "x()" not in html_to_text(html)


def test_mojibake_is_repaired() -> None:
    assert clean_text("la acera estÃ¡ rota") == "la acera está rota"


def test_whitespace_and_invisible_characters_go_emoji_stay() -> None:
    text = "  HUGE\u200b pothole \u00a0\u00a0on Ann St 😡😡\r\n\r\n\r\n\r\npls fix  "
    assert clean_text(text) == "HUGE pothole on Ann St 😡😡\n\npls fix"
