"""What staff do with stored messages flagged for them (``inbound list --unparsed``).

An unparsed message is parsed again with its channel's current code: it was verified when it
arrived, so no provider has to send it twice. A failed message (parsed, but the intake could not
act on it) goes back to ``received`` for the intake worker to take again, or, when it had made its
request after all, is linked to it. Either kind can instead be dismissed: kept, flagged
``dismissed``, with who, why and when.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import channels
from channels import ChannelContext, WebhookRequest
from gateway.config.settings import Settings
from gateway.errors import MalformedPayload
from gateway.store import flagged, inbound, received

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StaffOutcome:
    """What became of one message: ``ok`` when it was done, and a line for staff."""

    ok: bool
    text: str


async def reprocess(engine: AsyncEngine, settings: Settings, inbound_id: int) -> str:
    """Parse an unparsed message again, or give a failed one back; returns what became of it."""
    return (await reprocess_message(engine, settings, inbound_id)).text


async def reprocess_message(
    engine: AsyncEngine, settings: Settings, inbound_id: int
) -> StaffOutcome:
    """Parse an unparsed message again, or give a failed one back to the intake."""
    async with engine.begin() as conn:
        stored = await received.get_raw(conn, inbound_id)
        if stored is None:
            return StaffOutcome(False, "not found")
        if stored.state == inbound.FAILED:
            return await _retake(conn, inbound_id)
        if stored.state == inbound.DISMISSED:
            return StaffOutcome(False, await _dismissed(conn, inbound_id))
        if stored.state != inbound.UNPARSED:
            # The wording from before failed messages could be reprocessed; callers match it.
            return StaffOutcome(False, f"not unparsed (state {stored.state})")
        return await _parse_again(conn, settings, stored)


async def dismiss(
    engine: AsyncEngine, inbound_id: int, *, by: str, reason: str, now: datetime | None = None
) -> StaffOutcome:
    """Set a failed or unparsed message aside for good, saying who and why."""
    if not by.strip() or not reason.strip():
        return StaffOutcome(False, "a dismissal needs who dismisses it and why")
    async with engine.begin() as conn:
        stored = await received.get_raw(conn, inbound_id)
        if stored is None:
            return StaffOutcome(False, "not found")
        if stored.state == inbound.DISMISSED:
            return StaffOutcome(False, await _dismissed(conn, inbound_id))
        when = now or datetime.now(UTC)
        done = await flagged.dismiss(
            conn, inbound_id, by=by.strip(), reason=reason.strip(), now=when
        )
    if not done:
        return StaffOutcome(False, f"neither failed nor unparsed (state {stored.state})")
    log.info("inbound.dismissed", extra={"inbound_id": inbound_id, "by": by.strip()})
    return StaffOutcome(True, f"dismissed (was {stored.state})")


async def _retake(conn: AsyncConnection, inbound_id: int) -> StaffOutcome:
    retaken = await flagged.retake_failed(conn, inbound_id, datetime.now(UTC))
    if retaken is None:
        return StaffOutcome(False, "no longer failed")
    log.info("inbound.retaken", extra={"inbound_id": inbound_id, "filed_as": retaken.filed_as})
    if retaken.filed_as is not None:
        return StaffOutcome(True, f"had made request {retaken.filed_as} already: now processed")
    return StaffOutcome(True, "back to received: the intake worker takes it again")


async def _dismissed(conn: AsyncConnection, inbound_id: int) -> str:
    found = await flagged.dismissal(conn, inbound_id)
    if found is None:
        return "dismissed already"
    when = found.at.strftime("%Y-%m-%d %H:%M UTC")
    return f"dismissed already by {found.by} at {when}: {found.reason}"


async def _parse_again(
    conn: AsyncConnection, settings: Settings, stored: received.StoredRaw
) -> StaffOutcome:
    registry = channels.load_all()
    if stored.channel not in registry:
        return StaffOutcome(False, f"channel {stored.channel!r} no longer exists")
    plugin = settings.channels.get(stored.channel)
    context = ChannelContext(settings.city_name, settings.message)
    channel = registry[stored.channel](plugin.options if plugin else {}, context)
    env = stored.envelope
    request = WebhookRequest("POST", env.public_url, env.headers, env.raw_body)
    try:
        messages = channel.parse(request)
    except MalformedPayload as exc:
        await received.set_state(conn, stored.id, inbound.UNPARSED, exc.reason)
        return StaffOutcome(False, f"still unparsed: {exc.reason}")
    receipts = await inbound.insert_messages(conn, env, messages)
    await received.set_state(conn, stored.id, inbound.REPARSED)
    fresh = sum(not r.duplicate for r in receipts)
    return StaffOutcome(True, f"parsed into {len(receipts)} message(s), {fresh} new")
