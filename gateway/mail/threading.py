"""Which request an email continues: a reply to our mail, or mail to a plus-address.

In-Reply-To / References naming one of our outgoing Message-IDs (kept as the notify job's
``remote_id``) lead to that job's request; ``311+K7M2QX@…`` leads to request K7M2QX. The From
header alone is a claim, not an identity: it never links a message to anyone's history.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.mail import EMAIL_CHANNELS
from gateway.outbox.jobs import NOTIFY
from gateway.records import InboundMessage
from gateway.store.schema import outbox, service_requests
from gateway.threads import thread_finder


@thread_finder
async def find_email_thread(conn: AsyncConnection, message: InboundMessage) -> str | None:
    """The request an email replies to, by our Message-ID or by its plus-address."""
    if message.channel not in EMAIL_CHANNELS:
        return None
    extra = message.extra
    named = [*extra.get("in_reply_to", "").split(), *reversed(extra.get("references", "").split())]
    if named:
        c = outbox.c
        query = (
            select(c.request_id)
            .where(c.remote_id.in_(named[:50]), c.kind == NOTIFY, c.request_id.is_not(None))
            .limit(1)
        )
        request_id = (await conn.execute(query)).scalar_one_or_none()
        if request_id is not None:
            return str(request_id)
    tag = extra.get("plus_tag")
    if tag:
        query = select(service_requests.c.id).where(service_requests.c.tracking_number == tag)
        found = (await conn.execute(query)).scalar_one_or_none()
        return str(found) if found is not None else None
    return None
