"""Parse a stored raw message again after a fix, for staff.

A stored raw message was verified when it arrived, so reprocessing only parses it again with its
channel's current code; no provider has to send it twice.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

import channels
from channels import ChannelContext, WebhookRequest
from gateway.config.settings import Settings
from gateway.errors import MalformedPayload
from gateway.store import inbound, received


async def reprocess(engine: AsyncEngine, settings: Settings, inbound_id: int) -> str:
    """Parse a stored unparsed message again; returns what became of it."""
    async with engine.begin() as conn:
        stored = await received.get_raw(conn, inbound_id)
        if stored is None:
            return "not found"
        if stored.state != inbound.UNPARSED:
            return f"not unparsed (state {stored.state})"
        registry = channels.load_all()
        if stored.channel not in registry:
            return f"channel {stored.channel!r} no longer exists"
        plugin = settings.channels.get(stored.channel)
        context = ChannelContext(settings.city_name, settings.message)
        channel = registry[stored.channel](plugin.options if plugin else {}, context)
        env = stored.envelope
        request = WebhookRequest("POST", env.public_url, env.headers, env.raw_body)
        try:
            messages = channel.parse(request)
        except MalformedPayload as exc:
            await received.set_state(conn, inbound_id, inbound.UNPARSED, exc.reason)
            return f"still unparsed: {exc.reason}"
        receipts = await inbound.insert_messages(conn, env, messages)
        await received.set_state(conn, inbound_id, inbound.REPARSED)
    fresh = sum(not r.duplicate for r in receipts)
    return f"parsed into {len(receipts)} message(s), {fresh} new"
