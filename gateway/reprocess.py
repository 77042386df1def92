"""Staff tools for stored raw messages: list the unparsed, and parse them again after a fix.

A stored raw message was verified when it arrived, so reprocessing only parses it again with its
channel's current code; no provider has to send it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

import channels
from channels import ChannelContext, WebhookRequest
from gateway.errors import MalformedPayload
from gateway.settings import Settings
from gateway.store.inbound import UNPARSED, Envelope, insert_messages
from gateway.store.schema import inbound_messages

REPARSED = "reparsed"


@dataclass(frozen=True, slots=True)
class InboundSummary:
    id: int
    channel: str
    provider_id: str
    state: str
    received_at: datetime
    error: str | None


async def list_inbound(
    engine: AsyncEngine, *, unparsed_only: bool = False, limit: int = 100
) -> list[InboundSummary]:
    """Stored messages, newest first; with ``unparsed_only`` those flagged for staff."""
    c = inbound_messages.c
    query = select(c.id, c.channel, c.provider_id, c.state, c.received_at, c.error)
    if unparsed_only:
        query = query.where(c.state.in_([UNPARSED, "failed"]))
    query = query.order_by(c.id.desc()).limit(limit)
    async with engine.connect() as conn:
        return [InboundSummary(*row) for row in await conn.execute(query)]


async def reprocess(engine: AsyncEngine, settings: Settings, inbound_id: int) -> str:
    """Parse a stored unparsed message again; returns what became of it."""
    c = inbound_messages.c
    async with engine.begin() as conn:
        row = (await conn.execute(select(inbound_messages).where(c.id == inbound_id))).first()
        if row is None:
            return "not found"
        if row.state != UNPARSED:
            return f"not unparsed (state {row.state})"
        registry = channels.load_all()
        if row.channel not in registry:
            return f"channel {row.channel!r} no longer exists"
        plugin = settings.channels.get(row.channel)
        context = ChannelContext(settings.city_name, settings.message)
        channel = registry[row.channel](plugin.options if plugin else {}, context)
        request = WebhookRequest("POST", row.public_url, dict(row.headers), row.raw_body)
        try:
            messages = channel.parse(request)
        except MalformedPayload as exc:
            await conn.execute(
                update(inbound_messages).where(c.id == inbound_id).values(error=exc.reason[:2000])
            )
            return f"still unparsed: {exc.reason}"
        envelope = Envelope(row.channel, row.raw_body, dict(row.headers), row.public_url)
        receipts = await insert_messages(conn, envelope, messages)
        await conn.execute(
            update(inbound_messages).where(c.id == inbound_id).values(state=REPARSED, error=None)
        )
    fresh = sum(not r.duplicate for r in receipts)
    return f"parsed into {len(receipts)} message(s), {fresh} new"
