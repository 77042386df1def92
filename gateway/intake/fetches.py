"""Copying a request's provider media into the gateway: one outbox fetch job per URL."""

from __future__ import annotations

import channels
from gateway.outbox import jobs
from gateway.records import ServiceRequest


def media_fetches(request: ServiceRequest, first: int = 0) -> list[jobs.NewJob]:
    """One fetch job per provider media URL of ``request``, from index ``first`` on."""
    cls = channels.REGISTRY.get(request.channel)
    fetcher = cls.media_fetcher if cls is not None else None
    if fetcher is None:
        return []
    return [
        jobs.NewJob(
            jobs.FETCH,
            fetcher,
            f"fetch-{request.id}-{i}",
            request.id,
            {"url": m.url, "index": i, "content_type": m.content_type},
        )
        for i, m in enumerate(request.media)
        if i >= first and m.url and not m.path
    ]
