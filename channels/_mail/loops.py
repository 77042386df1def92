"""Mail that must never be answered: bounces, auto-replies, bulk mail and our own mail.

Signals, after RFC 3834 (Auto-Submitted), RFC 3464 (delivery status notifications), RFC 8098
(read receipts) and what common auto-responders add (Precedence, X-Autoreply, "Out of Office").
"""

from __future__ import annotations

import re

from channels._mail.headers import Headers, message_ids
from gateway.records import LOOP_HEADER, OWN_ID_PREFIX

_BULK = {"bulk", "junk", "list", "auto_reply"}
_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_AUTO_FLAGS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply")
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|auto:|out of (the )?office|"
    r"respuesta autom[aá]tica|fuera de la oficina|undeliverable|delivery status notification|"
    r"mail delivery (failed|failure|subsystem)|returned mail)",
    re.IGNORECASE,
)


def auto_reason(headers: Headers, envelope_from: str | None = None) -> str | None:
    """Why this mail is machine-made and must not be answered, or None for a person's mail."""
    if LOOP_HEADER in headers or _is_own_id(headers.get("Message-ID")):
        return "own"
    # The null reverse path <> is reserved for bounces and receipts (RFC 5321 4.5.5).
    if envelope_from == "" or _sender_local(headers.get("From")) in _DAEMONS:
        return "bounce"
    content_type = headers.get("Content-Type").lower()
    if "multipart/report" in content_type or "message/delivery-status" in content_type:
        return "report"
    auto = headers.get("Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return "auto-submitted"
    if headers.get("Precedence").strip().lower() in _BULK:
        return "bulk"
    if any(flag in headers for flag in _AUTO_FLAGS):
        return "auto-reply"
    if "List-Id" in headers or "List-Unsubscribe" in headers:
        return "list"
    if _AUTO_SUBJECT.match(headers.get("Subject")):
        return "auto-reply"
    return None


def _is_own_id(value: str) -> bool:
    return any(i[1:].startswith(OWN_ID_PREFIX) for i in message_ids(value))


def _sender_local(value: str) -> str:
    match = re.search(r"([^<\s\"@]+)@", value)
    return match.group(1).lower() if match else ""


# Addresses of roles and machines, not of residents (RFC 2142 and common no-reply names).
_ROLES = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|hostmaster|abuse|"
    r"bounces?|root|daemon|nobody)([-+.].*)?$",
    re.IGNORECASE,
)
_FAILED = {"spf": {"fail", "softfail"}, "dkim": {"fail"}, "dmarc": {"fail"}}


def no_reply_reason(sender: str, envelope_from: str | None, verdicts: dict[str, str]) -> str:
    """Why no automatic mail may go to ``sender`` ("" when it may): the null reverse path, a
    role address, or a From that failed SPF, DKIM or DMARC (it may be forged: backscatter)."""
    if envelope_from == "":
        return "null sender"
    if _ROLES.match(sender.rpartition("@")[0]):
        return "role sender"
    failed = [k for k, bad in _FAILED.items() if verdicts.get(k) in bad]
    return f"{'/'.join(failed)} failed" if failed else ""
