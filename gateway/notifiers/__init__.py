"""Notifiers: how the gateway talks back to residents, one module per channel that can reply.

A notifier sends one ``Notification`` (already rendered in the resident's language) and returns
the provider's message id. Like connectors, it raises ``TransientDeliveryError`` or
``PermanentDeliveryError``; retries, backoff and opt-outs live in the outbox. Its options are its
``[notifiers.<name>]`` table; a channel names the notifier its residents are answered by with
``reply_via``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from gateway.plugin import Plugin, Registry
from gateway.records import Notification


class Notifier(Plugin):
    """Base of every notifier."""

    section: ClassVar[str] = "notifiers"
    # How long after a resident last wrote the provider lets us message them (Meta: 24 hours);
    # None: any time. Past it the outbox keeps the message for staff instead of sending it.
    reply_window: ClassVar[timedelta | None] = None

    async def send(self, note: Notification, idempotency_key: str) -> str | None:
        """Send ``note``; the provider's id for it. The same key must not send twice."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release sockets; called once at shutdown."""


_registry: Registry[Notifier] = Registry("notifier", __name__, __path__)
REGISTRY = _registry.classes
register = _registry.register
load_all = _registry.load_all
