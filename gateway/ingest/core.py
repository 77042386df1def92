"""The one ingest core every way in goes through: verify, store raw, parse, store, wake, count, log.

A webhook, an SMTP session, the web form and an Open311 POST differ only in how the bytes arrive
and how the answer is written (``gateway.ingest.http``, ``gateway.ingest.smtp``, the web pages);
each hands the core a channel and a ``WebhookRequest`` and renders what comes back. Order matters:
the signature first (nothing from an impostor is stored), then the raw bytes are kept even when
parsing fails, and only a durable commit earns the provider an acknowledgement.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from channels import Channel, StoredMessage, WebhookRequest
from channels._safe import clean_message, cleaned
from gateway import metrics
from gateway.errors import BadSignature, IngestError, MalformedPayload, StorageUnavailable
from gateway.ingest.triage import Triage
from gateway.log import mask_address
from gateway.records import InboundMessage
from gateway.store.inbound import Envelope, InboundWriter, Receipt

log = logging.getLogger(__name__)

# Never stored: credentials and cookies are not needed to parse a message again.
_DROPPED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# What a failed durable write looks like: the database or its disk, or the writer stopped.
STORAGE_ERRORS = (SQLAlchemyError, OSError, RuntimeError)

T = TypeVar("T")
# A body this large (a mail of many MIME parts) is verified and parsed on a worker thread, so that
# the event loop (/healthz, every other request, the SMTP sessions) keeps answering meanwhile.
OFF_LOOP_BYTES = 64 * 1024


class IngestCore:
    """Takes one request of one channel into durable storage, or raises an ``IngestError``."""

    def __init__(
        self,
        writer: InboundWriter,
        on_stored: Callable[[], None],
        triage: Callable[[InboundMessage], Triage] | None = None,
        waiting: Callable[[str, str], Awaitable[bool]] | None = None,
        claim_token: Callable[[str, str, bytes], Awaitable[bool]] | None = None,
    ) -> None:
        self.writer = writer
        self.on_stored = on_stored
        self.triage = triage
        self.waiting = waiting
        self.claim_token = claim_token

    async def take(
        self, channel: Channel, req: WebhookRequest, started: float | None = None
    ) -> list[StoredMessage]:
        """Store ``req`` for ``channel``, timed from ``started`` (when its first byte came)."""
        started = time.perf_counter() if started is None else started
        try:
            stored = await self._take(channel, req)
        except IngestError as exc:
            self.rejected(channel, exc)
            raise
        metrics.ACK_SECONDS.labels(channel.name).observe(time.perf_counter() - started)
        return stored

    def rejected(self, channel: Channel, exc: IngestError) -> None:
        """Count and log a refusal, the core's own or a transport's (too large, wrong type)."""
        metrics.INBOUND.labels(channel.name, exc.code).inc()
        log.info(
            "inbound.rejected",
            extra={"channel": channel.name, "error": exc.code, "reason": exc.reason},
        )

    async def _take(self, channel: Channel, req: WebhookRequest) -> list[StoredMessage]:
        await _off_loop(channel.verify, req)
        await self._refuse_replay(channel, req)
        headers = {k: v for k, v in cleaned(dict(req.headers)).items() if k not in _DROPPED_HEADERS}
        envelope = Envelope(channel.name, req.body, headers, req.public_url)
        try:
            # Text is made valid on the way in: nothing is stored that a page cannot render.
            messages = [clean_message(m) for m in await _off_loop(channel.parse, req)]
            if not messages and not channel.may_hold_nothing:
                raise MalformedPayload("the payload holds no message")
        except MalformedPayload as exc:
            await self._stored(self.writer.store_unparsed(envelope, exc.reason))
            raise
        except Exception as exc:
            # A channel's bug must neither lose the message nor answer 500: it is kept for staff.
            # Only the exception's type and place are logged: its text may quote the body.
            reason = f"the {channel.name} parser failed: {type(exc).__name__} at {_where(exc)}"
            log.error("inbound.parser_failed", extra={"channel": channel.name, "reason": reason})
            await self._stored(self.writer.store_unparsed(envelope, reason))
            raise MalformedPayload(reason) from exc
        if not messages:
            # Verified and understood, and nothing in it is a resident's (a like, an echo).
            metrics.INBOUND.labels(channel.name, "ignored").inc()
            log.info("inbound.ignored", extra={"channel": channel.name})
            return []
        receipts = await self._stored(self.writer.store(envelope, messages))
        self.on_stored()
        for message, receipt in zip(messages, receipts, strict=True):
            _count_stored(channel, message, receipt)
        return [await self._known(channel, m, r) for m, r in zip(messages, receipts, strict=True)]

    async def _stored(self, write: Awaitable[T]) -> T:
        try:
            return await write
        except STORAGE_ERRORS as exc:
            raise storage_unavailable(exc) from exc

    async def _refuse_replay(self, channel: Channel, req: WebhookRequest) -> None:
        """A signed one-time token seen before with another body is a replayed signature."""
        token = channel.replay_token(req)
        if not token or self.claim_token is None:
            return
        if not await self._stored(self.claim_token(channel.name, token, req.body)):
            raise BadSignature("this signed token was already used for another request")

    async def _known(
        self, channel: Channel, message: InboundMessage, receipt: Receipt
    ) -> StoredMessage:
        """What the acknowledgement may say: the triage, and whether a question awaits this."""
        number, duplicate = receipt.tracking_number, receipt.duplicate
        # Only a channel that converses answers the resident in its acknowledgement.
        if self.triage is None or not channel.converses:
            return StoredMessage(message, number, duplicate)
        triage = self.triage(message)
        continues = False
        if self.waiting is not None and triage.command is None:
            try:
                continues = await self.waiting(message.channel, message.sender)
            except STORAGE_ERRORS:
                # Stored already: a wrong guess only costs a spare receipt, never the message.
                log.warning("inbound.conversation_unknown", exc_info=True)
        command = triage.command.kind if triage.command else None
        return StoredMessage(
            message, number, duplicate, triage.language, triage.emergency, command, continues
        )


async def _off_loop(step: Callable[[WebhookRequest], T], req: WebhookRequest) -> T:
    if len(req.body) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(step, req)
    return step(req)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"


def _count_stored(channel: Channel, message: InboundMessage, receipt: Receipt) -> None:
    outcome = "duplicate" if receipt.duplicate else "stored"
    metrics.INBOUND.labels(channel.name, outcome).inc()
    log.info(
        "inbound.stored",
        extra={
            "channel": message.channel,
            "outcome": outcome,
            "provider_id": message.provider_id,
            "sender": mask_address(message.sender),
            "trace": receipt.tracking_number,
        },
    )


def storage_unavailable(exc: Exception) -> StorageUnavailable:
    """Our fault, not the provider's: every way in answers it as "try again later"."""
    log.error("inbound.store_failed", extra={"error": repr(exc)})
    return StorageUnavailable("the message could not be stored; try again later")
