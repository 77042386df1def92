"""Hostile input made harmless, in one place for every way in: JSON, secrets, text, places.

Each helper either returns a value every later step can handle (a page can render it, a database
can store it, a header can carry it) or raises ``MalformedPayload`` with a reason: a 400, never
a 500. The web pages, the case-status webhook and the notifiers import these too.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from gateway.errors import MalformedPayload
from gateway.records import InboundMessage

T = TypeVar("T")

# Deeper than any provider's document; far below the interpreter's recursion limit, so neither
# ``json.loads`` nor anything that walks the result later can overflow the stack.
MAX_JSON_DEPTH = 64
# A JSON string, escapes and all (the unrolled form, which the regex engine runs fast).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Only brackets are kept, all as [ and ]: everything else is deleted before the depth is read.
_OPEN_CLOSE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[{]}")
# A JSON escape that decodes to a lone surrogate or a control character: only then is the parsed
# document walked and cleaned (a valid pair is joined by the decoder into one character).
_ESCAPED_ODD = re.compile(rb"\\u(?:[dD][89a-fA-F]|00[01]|007[fF])")
# C0 controls but tab, LF and CR; DEL; and lone surrogates (valid pairs never reach a str).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# Every character that ends a line somewhere: a header or subject holds none of them.
_LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


# A mail or form of more parts than this, or more nested containers, is refused before parsing:
# the email package takes ~0.8 ms a part on the event loop's thread and recurses per level.
MAX_MIME_PARTS = 1000
MAX_MIME_CONTAINERS = 50
_MIME_CONTAINER = re.compile(rb"(?im)^content-type:\s*(?:multipart|message)/")
_MIME_DELIMITER = re.compile(rb"(?m)^--")


def check_mime(raw: bytes, what: str = "the mail") -> None:
    """Refuse (400) a MIME document whose parts or nesting would make parsing stall or recurse."""
    if len(_MIME_CONTAINER.findall(raw)) > MAX_MIME_CONTAINERS:
        raise MalformedPayload(f"{what} nests more than {MAX_MIME_CONTAINERS} MIME containers")
    if len(_MIME_DELIMITER.findall(raw)) > MAX_MIME_PARTS:
        raise MalformedPayload(f"{what} has more than {MAX_MIME_PARTS} MIME parts")


def json_depth(data: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep the brackets of a JSON document nest, strings aside; ``limit + 1`` at most.

    Each pass deletes the innermost pairs, one level, at C speed: a document of depth d costs
    d passes, a hostile one ``limit + 1``."""
    brackets = _JSON_STRING.sub(b"", data).translate(_OPEN_CLOSE, _NOT_BRACKETS)
    depth = 0
    while brackets and depth <= limit:
        # A run of opening brackets as long as the depth still allowed settles it at once.
        if b"[" * (limit + 1 - depth) in brackets:
            return limit + 1
        inner = brackets.replace(b"[]", b"")
        if inner == brackets:
            # Unbalanced: json.loads will say what is wrong with it.
            break
        brackets, depth = inner, depth + 1
    return depth


def load_json(data: bytes | str, what: str = "body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``data`` as JSON, refusing a document nested deeper than ``max_depth`` before parsing."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if json_depth(raw, max_depth) > max_depth:
        raise MalformedPayload(f"{what} nests deeper than {max_depth} levels")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedPayload(f"{what} is not JSON: {exc}") from exc
    return cleaned(data) if _ESCAPED_ODD.search(raw) else data


def cleaned(value: T) -> T:
    """``value`` with ``clean_text`` applied to every string in it: lists, dicts, records."""
    found: Any = value
    if isinstance(found, str):
        found = clean_text(found)
    elif isinstance(found, list | tuple):
        found = type(found)(cleaned(item) for item in found)
    elif isinstance(found, Mapping):
        found = {cleaned(k): cleaned(v) for k, v in found.items()}
    elif dataclasses.is_dataclass(found) and not isinstance(found, type):
        changes = {f.name: cleaned(getattr(found, f.name)) for f in dataclasses.fields(found)}
        found = dataclasses.replace(found, **changes)
    return found  # type: ignore[no-any-return]


def clean_message(message: InboundMessage) -> InboundMessage:
    """A parsed message whose every text a page, database and mail header can carry; the raw
    bytes stay as received. The ingest core runs this on every channel's messages."""
    message = cleaned(message)
    subject = None if message.subject is None else one_line(message.subject)
    return dataclasses.replace(
        message,
        provider_id=one_line(message.provider_id),
        sender=one_line(message.sender),
        sender_name=one_line(message.sender_name),
        subject=subject,
    )


def same_secret(given: str | bytes | None, expected: str | bytes) -> bool:
    """A constant-time comparison of any text: ``compare_digest`` refuses non-ASCII ``str``."""
    if given is None:
        return False
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def clean_text(value: str) -> str:
    """Text any page, database and encoder accepts: no lone surrogate (U+FFFD), no NUL or
    other control character but tab and line breaks."""
    if value.isascii() and value.isprintable():
        return value
    return _CONTROLS.sub("", _SURROGATES.sub("\ufffd", value))


def one_line(value: str) -> str:
    """``clean_text`` on one line: every line break folded into a space (header injection)."""
    return " ".join(_LINE_BREAKS.sub(" ", clean_text(value)).split())


def coordinates(lat: Any, long: Any) -> tuple[float, float]:
    """A latitude and longitude as finite degrees on Earth; ``MalformedPayload`` otherwise."""
    try:
        point = float(lat), float(long)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MalformedPayload("lat and long must be numbers") from exc
    if not all(math.isfinite(v) for v in point):
        raise MalformedPayload("lat and long must be finite numbers")
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
        raise MalformedPayload("lat must be within -90..90 and long within -180..180")
    return point


def allowed_url(url: str, hosts: Sequence[str]) -> bool:
    """``url`` is http(s) on one of ``hosts`` (``*.example.com`` for its subdomains), with no
    credentials in it: the only URLs the gateway will fetch (file://, gopher://, 127.0.0.1,
    169.254.169.254 or 0x7f000001 are not, unless the operator listed that very host)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or parts.username or port == 0:
        return False
    return any(
        host == h.lower() or (h.startswith("*.") and host.endswith(h[1:].lower())) for h in hosts
    )


def ascii_digits(value: str) -> int | None:
    """A whole number written in ASCII digits ("١٢" and "²" are not), or None."""
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None
