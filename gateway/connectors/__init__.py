"""Case-system connectors: one module each, joined to one registry by ``@register``.

A connector turns a ``ServiceRequest`` into a case in the city's system. It raises
``TransientDeliveryError`` (retried by the outbox) or ``PermanentDeliveryError`` (dead-lettered);
backoff, circuit breaking and idempotency bookkeeping live in ``gateway.outbox``, never here.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from gateway.plugin import Plugin, Registry
from gateway.records import CaseRef, CaseUpdate, ServiceRequest


class Connector(Plugin):
    """Base of every connector. ``options`` is its ``[connectors.<name>]`` config table."""

    section: ClassVar[str] = "connectors"

    async def submit(self, request: ServiceRequest, idempotency_key: str) -> CaseRef:
        """File ``request`` in the case system; the same key must never make a second case."""
        raise NotImplementedError

    async def fetch_updates(self, since: datetime) -> list[CaseUpdate]:
        """Status changes since ``since``; connectors whose system cannot say return nothing."""
        return []

    async def resolve_token(self, token: str) -> str | None:
        """The case id a submission token stands for, once the case system has made it."""
        return None

    @property
    def can_fetch_updates(self) -> bool:
        """True when this connector overrides ``fetch_updates``."""
        return type(self).fetch_updates is not Connector.fetch_updates

    async def close(self) -> None:
        """Release sockets and files; called once at shutdown."""


_registry: Registry[Connector] = Registry("connector", __name__, __path__)
REGISTRY = _registry.classes
register = _registry.register
load_all = _registry.load_all
