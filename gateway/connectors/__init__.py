"""Case-system connectors: one module each, joined to one registry by ``@register``.

A connector turns a ``ServiceRequest`` into a case in the city's system. It raises
``TransientDeliveryError`` (retried by the outbox) or ``PermanentDeliveryError`` (dead-lettered);
backoff, circuit breaking and idempotency bookkeeping live in ``gateway.outbox``, never here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from gateway.plugin import Plugin
from gateway.records import CaseRef, CaseUpdate, ServiceRequest

REGISTRY: dict[str, type[Connector]] = {}
C = TypeVar("C", bound="type[Connector]")


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


def register(cls: C) -> C:
    """Class decorator: file a connector under its ``name``; a duplicate name fails at import."""
    if cls.name in REGISTRY:
        raise RuntimeError(f"connector {cls.name!r} is registered twice")
    REGISTRY[cls.name] = cls
    return cls


def load_all() -> Mapping[str, type[Connector]]:
    """Import every module in this package so that each registers itself."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY


ConnectorFactory = Callable[[Mapping[str, Any]], Connector]
