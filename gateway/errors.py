"""The gateway's error tree.

Ingest errors carry the HTTP status the middleware renders as ``{"error": code, "reason": text}``;
delivery errors tell the outbox whether to retry (transient) or dead-letter now (permanent).
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class IngestError(GatewayError):
    """Bad input from a provider: answered with a 4xx, never a 500."""

    status = 400
    code = "bad_request"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedPayload(IngestError):
    status = 400
    code = "malformed_payload"


class BadSignature(IngestError):
    status = 403
    code = "bad_signature"


class NotFound(IngestError):
    status = 404
    code = "not_found"


class PayloadTooLarge(IngestError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(IngestError):
    status = 415
    code = "unsupported_media_type"


class StorageUnavailable(IngestError):
    """Our fault, not the sender's: the message could not be stored, so it is not acknowledged."""

    status = 503
    code = "storage_unavailable"


class DeliveryError(GatewayError):
    """A connector could not deliver a request."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class TransientDeliveryError(DeliveryError):
    """Worth retrying: a timeout, a 5xx, a 429. ``retry_after`` is the server's wish, in seconds."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (400, 401, 403, 404, 422): the job is dead at once, with the reason."""


class OutsideReplyWindow(PermanentDeliveryError):
    """The provider lets the gateway message this resident only for a while after they last
    wrote (Meta's 24-hour window): the message is kept for staff, dead, not sent. Not a fault of
    the notifier's lane, so it does not trip its circuit breaker."""


class ConfigError(GatewayError):
    """A configuration value is wrong; ``path`` is the exact key, e.g. ``server.port``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
