"""Email, whichever way it arrives: our SMTP listener or a provider's inbound-parse webhook.

Every email channel hands its pieces (headers, bodies, attachments, the provider's SPF/DKIM
verdict) to ``build_message``, so parsing, loop detection and threading work the same for all.
RFC 5322 messages are read with the standard library's ``email`` package (``policy.default``).
"""
