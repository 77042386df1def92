"""Our replies as RFC 5322 messages, threaded under the resident's own mail.

In-Reply-To and References name the resident's Message-ID (RFC 5322 3.6.4), the subject is
"Re: " theirs, and the Message-ID is derived from the outbox job's idempotency key, so a retried
send carries the same id and the resident's client shows one message. ``Auto-Submitted:
auto-replied`` (RFC 3834) and our loop header keep auto-responders and ourselves from answering.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, localtime

from channels._safe import clean_text, one_line
from gateway.records import LOOP_HEADER, OWN_ID_PREFIX, Notification

_RE = re.compile(r"^\s*(re|aw|sv|rv)\s*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sender:
    """Who our mail is from, and the domain our Message-IDs are made in."""

    address: str
    name: str = ""
    default_subject: str = "Your 311 request"

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"


def outgoing_message_id(idempotency_key: str, domain: str) -> str:
    """The Message-ID of the mail sent for ``idempotency_key``: the same on every retry."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{OWN_ID_PREFIX}{digest}@{domain}>"


def compose_reply(note: Notification, idempotency_key: str, sender: Sender) -> EmailMessage:
    """The reply to send for ``note``; its Message-ID is ``outgoing_message_id(key)``."""
    thread = {k: one_line(v) for k, v in note.thread.items()}
    msg = EmailMessage()
    # Every value goes through the policy's header objects, and none holds CR or LF (one_line):
    # a resident's subject can never add a header (a Bcc) to our reply.
    msg["From"] = formataddr((sender.name, sender.address)) if sender.name else sender.address
    msg["To"] = one_line(note.to)
    msg["Subject"] = one_line(_subject(note, sender, thread))
    msg["Date"] = format_datetime(localtime())
    msg["Message-ID"] = outgoing_message_id(idempotency_key, sender.domain)
    parent = _message_ids(thread.get("in_reply_to", ""))
    if parent:
        msg["In-Reply-To"] = parent[0]
        earlier = _message_ids(thread.get("references", ""))
        msg["References"] = " ".join(dict.fromkeys([*earlier[-10:], parent[0]]))
    if reply_to := _plus_address(thread, sender):
        msg["Reply-To"] = reply_to
    msg["Auto-Submitted"] = "auto-replied"
    msg[LOOP_HEADER] = "1"
    msg.set_content(clean_text(note.body))
    # After set_content, which replaces every Content-* header.
    if thread.get("language"):
        msg["Content-Language"] = thread["language"]
    return msg


def _message_ids(value: str) -> list[str]:
    # The thread holds Message-IDs as the channel read them; anything else (a message stored
    # under a digest because it had none) cannot be replied to.
    return [i for i in value.split() if i.startswith("<") and i.endswith(">")]


def _subject(note: Notification, sender: Sender, thread: Mapping[str, str]) -> str:
    if note.subject:
        return note.subject
    theirs = thread.get("subject", "").strip()
    if theirs:
        return theirs if _RE.match(theirs) else f"Re: {theirs}"
    return sender.default_subject


def _plus_address(thread: Mapping[str, str], sender: Sender) -> str | None:
    """``311+K7M2QX@city.gov``: a reply to it finds its request even without our Message-ID."""
    number = thread.get("tracking_number", "")
    local, _, domain = sender.address.partition("@")
    if not number.isalnum() or not domain:
        return None
    return f"{local}+{number}@{domain}"
