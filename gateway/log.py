"""Structured logging: one JSON object per line, contacts always masked.

Log an event name plus fields (``log.info("inbound.stored", extra={...})``); never a body, a token,
or a full phone number or email address: pass those through ``mask_phone`` / ``mask_email``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# The tracking number of what the current task works on: its message, then its request.
_TRACE: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace", default=None)


@contextlib.contextmanager
def tracing(trace: str | None) -> Iterator[None]:
    """Put ``trace`` (a tracking number) on every log line written inside the block.

    The trace of a message is the tracking number its receipt gave, which becomes its request's:
    one number follows a report from the provider's webhook through the intake, every delivery
    and every message back to the resident, whichever process logs it, and it is the number the
    resident and staff already quote. A log line's own ``trace`` field wins.
    """
    token = _TRACE.set(trace)
    try:
        yield
    finally:
        _TRACE.reset(token)


def mask_phone(phone: str | None) -> str:
    """``+14015550142`` -> ``***0142``: enough for staff to correlate, not to call."""
    if not phone:
        return ""
    digits = [c for c in phone if c.isdigit()]
    return "***" + "".join(digits[-4:])


def mask_email(email: str | None) -> str:
    """``jane@example.org`` -> ``j***@example.org``."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_address(address: str | None) -> str:
    """Mask a channel address, whichever kind it is (email, phone, ``whatsapp:+1...``, a handle)."""
    if not address:
        return ""
    if "@" in address:
        return mask_email(address)
    if sum(c.isdigit() for c in address) >= 7:
        return mask_phone(address)
    return address[:2] + "***"


# What a contact looks like inside free text (an exception's message, a driver's DETAIL line):
# an email address, an E.164 number, a North American number written the usual ways.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d{7,15}\b|\(?\b\d{3}\)?[ .-]?\d{3}[ .-]\d{4}\b|\b1?\d{10}\b")


def redact(text: str) -> str:
    """``text`` with every email address and phone number in it masked."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line with its ``extra`` fields.

    Tracebacks and messages are redacted too: a database error quotes the values it failed on,
    and a third-party library may log what it was given.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(record.getMessage()),
        }
        trace = _TRACE.get()
        if trace is not None:
            entry["trace"] = trace
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


# Loggers whose records are ours; every other one is a library's.
_OURS = frozenset({"gateway", "channels", "normalizer", "bench", "tests"})
_LIBRARY_MESSAGE_CHARS = 300


class LibraryRecords(logging.Filter):
    """A library's record keeps its message, redacted and cut short, and loses its traceback:
    aiohttp's "Error handling request" and a parser's exception quote the raw request body."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in _OURS:
            return True
        message = redact(record.getMessage())[:_LIBRARY_MESSAGE_CHARS]
        if record.exc_info and record.exc_info[0] is not None:
            message = f"{message} ({record.exc_info[0].__name__})"
        record.msg, record.args = message, None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


def configure(level: str = "INFO") -> None:
    """Send every log line as JSON to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LibraryRecords())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log prints full URLs with query strings; our own ack metrics replace it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Alembic announces its dialect and plugins on every readiness probe and command.
    logging.getLogger("alembic").setLevel(logging.WARNING)
