"""Which existing request a message continues, if any.

A reply to our email, an SMS answering our question, a WhatsApp pin sent after the report: each
continues a request instead of opening a new one. Channel families contribute a finder with
``@thread_finder``; the pipeline asks them in turn before treating a message as a new report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records import InboundMessage

ThreadFinder = Callable[[AsyncConnection, InboundMessage], Awaitable[str | None]]
FINDERS: list[ThreadFinder] = []


def thread_finder(finder: ThreadFinder) -> ThreadFinder:
    """Register a finder: it returns the id of the request ``message`` continues, or None."""
    FINDERS.append(finder)
    return finder


async def find_thread(conn: AsyncConnection, message: InboundMessage) -> str | None:
    """The request ``message`` continues, according to the first finder that knows."""
    for finder in FINDERS:
        request_id = await finder(conn, message)
        if request_id is not None:
            return request_id
    return None
