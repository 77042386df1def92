"""Fetchers: bring a provider's media (an MMS photo) into the gateway's own store.

A media URL in a webhook is an SSRF surface: a fetcher follows it only to its provider's own
hosts (redirects included), with a size cap, a content-type allowlist and a time limit. Fetches
run as outbox jobs, so a provider outage delays a photo but loses none. Options come from
``[fetchers.<name>]``; a channel names its fetcher with ``media_fetcher``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from gateway.media import extension_for
from gateway.plugin import Plugin, Registry


@dataclass(frozen=True, slots=True)
class Fetched:
    """A stored copy: where it is, what it is, how big, its SHA-256."""

    path: str
    content_type: str
    size: int
    sha256: str


class Fetcher(Plugin):
    """Base of every fetcher."""

    section: ClassVar[str] = "fetchers"

    async def fetch(self, url: str, folder: Path) -> Fetched:
        """Copy ``url`` into ``folder``; raise Transient/PermanentDeliveryError on failure."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release sockets; called once at shutdown."""


def store_bytes(body: bytes, content_type: str, folder: Path) -> Fetched:
    """Write ``body`` under its SHA-256 (the same photo twice is one file), synced to disk
    before the request that names it is filed."""
    digest = hashlib.sha256(body).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}{extension_for(content_type)}"
    if not path.exists():
        temporary = path.with_suffix(path.suffix + ".tmp")
        with temporary.open("wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        temporary.replace(path)
    return Fetched(str(path), content_type, len(body), digest)


_registry: Registry[Fetcher] = Registry("fetcher", __name__, __path__)
REGISTRY = _registry.classes
register = _registry.register
load_all = _registry.load_all
