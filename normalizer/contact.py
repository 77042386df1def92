"""Who wrote: phone numbers to E.164 (libphonenumber), emails lower-cased, anonymity honoured."""

from __future__ import annotations

import re
from email.utils import parseaddr
from functools import lru_cache

import phonenumbers

from gateway.records import InboundMessage, Reporter

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CHARS = re.compile(r"[+\d\s().-]+(?:\s*(?:ext\.?|x)\s*\d+)?", re.IGNORECASE)
# Provider address schemes that wrap a phone number ("whatsapp:+14015550172").
PHONE_SCHEMES = ("whatsapp:", "sms:", "tel:", "messenger:")


# Residents write in conversations, so a number recurs; libphonenumber's parse and validation
# cost more than the rest of a message's understanding.
@lru_cache(maxsize=4096)
def normalize_phone(raw: str, region: str = "US") -> str | None:
    """The number in E.164 (+14015550123), or None if it is not a valid phone number."""
    value = raw.strip()
    for scheme in PHONE_SCHEMES:
        if value.lower().startswith(scheme):
            value = value[len(scheme) :]
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str | None:
    """The bare address, lower-cased ("Ana <Ana@Example.org>" -> "ana@example.org"), or None."""
    _, address = parseaddr(raw.strip())
    address = address.strip().lower()
    return address if _EMAIL.match(address) else None


def build_reporter(message: InboundMessage, language: str, region: str = "US") -> Reporter:
    """The reporter of a message; an anonymous one carries no contact at all."""
    declared = message.declared
    if declared.anonymous:
        return Reporter(anonymous=True, language=language)
    sender = message.sender.strip()
    email = normalize_email(sender) if "@" in sender else None
    phone = normalize_phone(sender, region) if not email and _phone_like(sender) else None
    # A form gives the phone beside the email it answers by; keep both, for the history.
    given_phone = declared.phone
    phone = phone or (normalize_phone(given_phone, region) if given_phone else None)
    return Reporter(
        name=_name(message) or None,
        phone=phone,
        email=email or (normalize_email(declared.email) or None),
        address=_reply_address(sender, phone, email),
        language=language,
    )


def _phone_like(sender: str) -> bool:
    """Only digits and dialling punctuation after a scheme: a chat user id such as Slack's
    ``U2147483697`` is an address of its own, though libphonenumber would read a number in it."""
    value = sender.lower()
    for scheme in PHONE_SCHEMES:
        value = value.removeprefix(scheme)
    return bool(_PHONE_CHARS.fullmatch(value))


def _reply_address(sender: str, phone: str | None, email: str | None) -> str | None:
    """The channel address to answer on, normalised but keeping the provider's scheme."""
    if email:
        return email
    if phone:
        scheme = next((s for s in PHONE_SCHEMES if sender.lower().startswith(s)), "")
        return f"{scheme}{phone}"
    return sender or None


def _name(message: InboundMessage) -> str:
    """The name the resident typed, or the one the provider shows (WhatsApp's profile name)."""
    for name in (message.declared.name, message.sender_name):
        if name.strip():
            return name.strip()
    # Only an email-style sender ("Ana <ana@example.org>", "ana@example.org (Ana)") names one.
    if "<" not in message.sender and "(" not in message.sender:
        return ""
    name, _ = parseaddr(message.sender)
    return name.strip()
