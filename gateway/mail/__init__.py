"""Email, whichever way it arrives: our SMTP listener or a provider's inbound-parse webhook.

Every email channel hands its pieces (headers, bodies, attachments, the provider's SPF/DKIM
verdict) to ``build_message``, so parsing, loop detection and threading work the same for all.
RFC 5322 messages are read with the standard library's ``email`` package (``policy.default``).
"""

from __future__ import annotations

# The channels whose messages are emails; their threads are found by ``gateway.mail.threading``.
EMAIL_CHANNELS = frozenset({"smtp", "sendgrid", "mailgun", "postmark"})
# Marks the mail the gateway sends, so that our own mail coming back is never answered.
LOOP_HEADER = "X-311-Gateway"
# Our outgoing Message-IDs start with this, so a bounce or echo of them is recognised too.
OWN_ID_PREFIX = "311gw."
