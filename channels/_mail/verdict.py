"""The sender's SPF and DKIM results, as the receiving server or the provider recorded them.

``Authentication-Results`` (RFC 8601) and ``Received-SPF`` (RFC 7208 9.1) headers; providers'
own fields (SendGrid ``SPF`` and ``dkim``) are passed in and win. A verdict is recorded, never
trusted as identity: the From header alone links nothing to a resident's history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from channels._mail.headers import Headers

_RESULT = {
    key: re.compile(rf"\b{key}\s*=\s*([a-z]+)", re.IGNORECASE) for key in ("spf", "dkim", "dmarc")
}
_VALID = {"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"}


def auth_verdicts(headers: Headers, provider: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"spf": "pass", "dkim": "fail", ...}`` for what is known; the provider's fields win."""
    found: dict[str, str] = {}
    for value in headers.all("Authentication-Results"):
        for key, pattern in _RESULT.items():
            match = pattern.search(value)
            if match and key not in found:
                found[key] = match.group(1).lower()
    received_spf = headers.get("Received-SPF").strip().split(" ", 1)[0].lower()
    if received_spf and "spf" not in found:
        found["spf"] = received_spf
    for key, value in (provider or {}).items():
        verdict = _provider_verdict(value)
        if verdict:
            found[key] = verdict
    return {k: v for k, v in found.items() if v in _VALID}


def _provider_verdict(value: str) -> str:
    """SendGrid's ``dkim`` field is ``{@example.com : pass}``; ``SPF`` is a bare word."""
    words = re.findall(r"[a-z]+", value.lower())
    return next((w for w in reversed(words) if w in _VALID), "")
