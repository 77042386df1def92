"""Text clean-up: HTML to text, mojibake and whitespace repair, email quotes and signatures.

Quoted replies and signatures are cut with ``mail-parser-reply``; HTML is read with
BeautifulSoup; broken encodings are repaired with ``ftfy``. Each is imported by the function that
needs it, the first time: most texts need none of them, and every command line start pays for
what is imported at the top.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailparser_reply import EmailReplyParser

_HTML_HINT = re.compile(r"<(?:html|body|div|p|br|span|table|a\s)[^>]*>", re.IGNORECASE)
_MOJIBAKE_HINT = re.compile("[\u00c2\u00c3\u00e2\ufffd]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """Readable plain text: HTML stripped, encoding repaired, invisible characters and
    runs of spaces removed, at most one blank line in a row."""
    if "<" in text and _HTML_HINT.search(text):
        text = html_to_text(text)
    # Mojibake, composed forms and invisible characters are all non-ASCII; most texts are not.
    if not text.isascii():
        if _MOJIBAKE_HINT.search(text):
            import ftfy

            text = ftfy.fix_text(text)
        text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = _SPACES.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_email_text(text: str, languages: Sequence[str] = ("en",)) -> str:
    """The new part of an email body: quoted history and signature removed, then cleaned."""
    text = clean_text(text)
    if not text:
        return text
    reply = _reply_parser(tuple(languages)).parse_reply(text=text)
    # A parser that finds nothing new (a forward, an odd client) must not lose the message.
    return clean_text(reply) or text


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment or document, one block per line."""
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "head", "title"]):
        hidden.decompose()
    return soup.get_text("\n")


@lru_cache(maxsize=8)
def _reply_parser(languages: tuple[str, ...]) -> EmailReplyParser:
    """A parser for these languages; ``mail-parser-reply`` knows a fixed set, "en" always."""
    from mailparser_reply import EmailReplyParser

    known = [lang for lang in languages if lang in _SUPPORTED] or ["en"]
    return EmailReplyParser(languages=known)


_SUPPORTED = frozenset(
    {"en", "de", "fr", "it", "ja", "nl", "pl", "sv", "cs", "es", "ko", "zh", "da"}
)
