"""Which existing request a message continues, if any.

An email continues a request when its In-Reply-To / References name one of our outgoing
Message-IDs (kept as the notify job's ``remote_id``), or when it was sent to ``311+K7M2QX@…``.
The From header alone is a claim, not an identity: it never links a message to anyone's history.
An SMS answering our question is found by the conversation instead (``gateway.intake.route``).
A channel family with threads of its own (a Slack thread, an X conversation) adds a finder to
``FINDERS``; the router asks them in turn before treating a message as a new report. An X reply
names the post it answers (ours: found by its id, like an email's) and its conversation's first
post (the resident's report: ``find_conversation``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

import channels
from gateway.outbox import jobs
from gateway.records import InboundMessage
from gateway.store import requests
from gateway.store.received import request_of_message

ThreadFinder = Callable[[AsyncConnection, InboundMessage], Awaitable[str | None]]


async def find_email_thread(conn: AsyncConnection, message: InboundMessage) -> str | None:
    """The request an email replies to, by our Message-ID or by its plus-address."""
    thread = message.thread
    if thread is None:
        return None
    named = [*thread.in_reply_to, *reversed(thread.references)]
    if named:
        request_id = await jobs.request_of_sent(conn, named[:50])
        if request_id is not None:
            return request_id
    if thread.plus_tag:
        return await requests.id_by_tracking_number(conn, thread.plus_tag)
    return None


async def find_chat_thread(conn: AsyncConnection, message: InboundMessage) -> str | None:
    """The request a chat message continues: the one its thread's first message made."""
    chat = message.chat
    if chat is None or not chat.parent_id:
        return None
    return await request_of_message(conn, message.channel, chat.parent_id)


async def find_conversation(conn: AsyncConnection, message: InboundMessage) -> str | None:
    """The request a post's conversation started with (X: a reply's ``conversation_id`` is the
    report's post id), for channels whose threads name their first post."""
    cls = channels.REGISTRY.get(message.channel)
    thread = message.thread
    if cls is None or not cls.threads_by_first_post or thread is None or not thread.references:
        return None
    return await requests.id_by_channel_message(conn, message.channel, thread.references[:50])


FINDERS: tuple[ThreadFinder, ...] = (find_email_thread, find_chat_thread, find_conversation)


async def find_thread(conn: AsyncConnection, message: InboundMessage) -> str | None:
    """The request ``message`` continues, according to the first finder that knows."""
    for finder in FINDERS:
        request_id = await finder(conn, message)
        if request_id is not None:
            return request_id if await _may_continue(conn, message, request_id) else None
    return None


async def _may_continue(conn: AsyncConnection, message: InboundMessage, request_id: str) -> bool:
    """Anyone may reply in a public conversation (X): there only the request's own reporter
    continues it; a neighbour's reply is a report of their own."""
    cls = channels.REGISTRY.get(message.channel)
    if cls is None or not cls.threads_by_first_post:
        return True
    request = await requests.get_request(conn, request_id)
    return request is not None and request.reporter.address == message.sender
