"""Header look-ups that never raise, over any list of (name, value) pairs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.header import decode_header
from email.message import Message

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
# Charsets mail clients declare under names Python does not know, or mean a superset of.
ALIASES = {
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
    "shift_jis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "x-unknown": "utf-8",
}


class Headers:
    """Case-insensitive, multi-valued, read-only headers."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name.strip().lower(), []).append(value)

    def get(self, name: str) -> str:
        """The first value of ``name``, or ""."""
        values = self._values.get(name.lower())
        return values[0] if values else ""

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name.lower(), ()))

    def plus(self, pairs: Iterable[tuple[str, str]]) -> Headers:
        """These headers, with each of ``pairs`` added only where its name is missing."""
        ours = [(name, value) for name, values in self._values.items() for value in values]
        return Headers([*ours, *((n, v) for n, v in pairs if v and n not in self)])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


def message_headers(msg: Message) -> Headers:
    """A message's headers, decoded where possible, raw where decoding fails."""
    pairs = []
    for name, raw in msg.raw_items():
        pairs.append((name, decode_value(raw)))
    return Headers(pairs)


def decode_value(raw: object) -> str:
    """An RFC 2047 header value as text; broken encodings keep their raw form."""
    text = str(raw)
    try:
        chunks = decode_header(text)
    except (ValueError, LookupError, UnicodeError, TypeError, AssertionError):
        return " ".join(readable(text).split())
    decoded = "".join(
        chunk if isinstance(chunk, str) else decode_bytes(chunk, charset)
        for chunk, charset in chunks
    )
    return " ".join(readable(decoded).split())


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset, trying what clients really meant, never raising."""
    declared = (charset or "utf-8").lower()
    for name in (ALIASES.get(declared, declared), "utf-8", "cp1252"):
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def readable(text: str) -> str:
    """Text safe to store: raw 8-bit bytes smuggled in as surrogates become real characters."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def parse_headers_block(block: str) -> Headers:
    """Headers from a raw block of ``Name: value`` lines (SendGrid's ``headers`` field)."""
    from email import message_from_string, policy

    msg = message_from_string(block.strip() + "\n\n", policy=policy.compat32)
    return message_headers(msg)


def message_ids(value: str) -> list[str]:
    """Every ``<id>`` in a Message-ID, In-Reply-To or References value, in order."""
    return [f"<{m}>" for m in _ANGLE_ID.findall(value)]
