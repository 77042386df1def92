"""The ingest contract every channel route follows: check, verify, parse, store, acknowledge.

Order matters: size and type first (cheap, before reading), then the signature (nothing from an
impostor is stored), then the raw bytes are kept even when parsing fails, and only a durable
commit earns the provider a 2xx.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from channels import Channel, StoredMessage, WebhookRequest
from gateway import metrics
from gateway.errors import (
    BadSignature,
    IngestError,
    MalformedPayload,
    PayloadTooLarge,
    StorageUnavailable,
    UnsupportedMediaType,
)
from gateway.log import mask_address
from gateway.records import InboundMessage
from gateway.settings import ServerSettings
from gateway.store.inbound import Envelope, InboundWriter
from gateway.triage import Triage

log = logging.getLogger(__name__)

# Never stored: credentials and cookies are not needed to parse a message again.
_DROPPED_HEADERS = {"authorization", "cookie", "proxy-authorization"}
# What a failed durable write looks like: the database or its disk, or the writer stopped.
_STORAGE_ERRORS = (SQLAlchemyError, OSError, RuntimeError)


class IngestHandler:
    """The aiohttp handler for one channel's webhook route."""

    def __init__(
        self,
        channel: Channel,
        writer: InboundWriter,
        server: ServerSettings,
        on_stored: Callable[[], None],
        triage: Callable[[InboundMessage], Triage] | None = None,
        waiting: Callable[[str, str], Awaitable[bool]] | None = None,
        claim_token: Callable[[str, str, bytes], Awaitable[bool]] | None = None,
    ) -> None:
        self.channel = channel
        self.writer = writer
        self.server = server
        self.on_stored = on_stored
        self.triage = triage
        # Only a channel that converses can have a question waiting for its resident.
        self.waiting = waiting if channel.converses else None
        self.claim_token = claim_token

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        name = self.channel.name
        req: WebhookRequest | None = None
        try:
            req = await self._read(request)
            response = await self._ingest(req)
        except IngestError as exc:
            metrics.INBOUND.labels(name, exc.code).inc()
            log.info(
                "inbound.rejected", extra={"channel": name, "error": exc.code, "reason": exc.reason}
            )
            ack = self.channel.reject(req, exc) if req is not None else None
            if ack is not None:
                return web.Response(text=ack.body, status=exc.status, content_type=ack.content_type)
            return error_response(exc.status, exc.code, exc.reason)
        metrics.ACK_SECONDS.labels(name).observe(time.perf_counter() - started)
        return response

    async def _read(self, request: web.Request) -> WebhookRequest:
        limit = self.server.max_body_bytes
        if request.content_type not in self.channel.content_types:
            raise UnsupportedMediaType(
                f"Content-Type {request.content_type!r} is not one of {self.channel.content_types}"
            )
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"body of {request.content_length} bytes exceeds {limit}")
        body = bytearray()
        while chunk := await request.content.read(65536):
            body += chunk
            if len(body) > limit:
                raise PayloadTooLarge(f"body exceeds {limit} bytes")
        return WebhookRequest(
            method=request.method,
            public_url=public_url(request, self.server),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=bytes(body),
            query=dict(request.query),
        )

    async def _ingest(self, req: WebhookRequest) -> web.Response:
        self.channel.verify(req)
        await self._refuse_replay(req)
        headers = {k: v for k, v in req.headers.items() if k not in _DROPPED_HEADERS}
        envelope = Envelope(self.channel.name, req.body, headers, req.public_url)
        try:
            messages = self.channel.parse(req)
            if not messages:
                raise MalformedPayload("the payload holds no message")
        except MalformedPayload as exc:
            try:
                await self.writer.store_unparsed(envelope, exc.reason)
            except _STORAGE_ERRORS as store_exc:
                raise _unavailable(store_exc) from store_exc
            raise
        try:
            receipts = await self.writer.store(envelope, messages)
        except _STORAGE_ERRORS as exc:
            raise _unavailable(exc) from exc
        self.on_stored()
        for message, receipt in zip(messages, receipts, strict=True):
            outcome = "duplicate" if receipt.duplicate else "stored"
            metrics.INBOUND.labels(self.channel.name, outcome).inc()
            log.info(
                "inbound.stored",
                extra={
                    "channel": message.channel,
                    "outcome": outcome,
                    "provider_id": message.provider_id,
                    "sender": mask_address(message.sender),
                },
            )
        stored = [
            await self._known(m, r.tracking_number, r.duplicate)
            for m, r in zip(messages, receipts, strict=True)
        ]
        ack = self.channel.acknowledge(req, stored)
        return web.Response(text=ack.body, status=ack.status, content_type=ack.content_type)

    async def _refuse_replay(self, req: WebhookRequest) -> None:
        """A signed one-time token seen before with another body is a replayed signature."""
        token = self.channel.replay_token(req)
        if not token or self.claim_token is None:
            return
        try:
            fresh = await self.claim_token(self.channel.name, token, req.body)
        except _STORAGE_ERRORS as exc:
            raise _unavailable(exc) from exc
        if not fresh:
            raise BadSignature("this signed token was already used for another request")

    async def _known(self, message: InboundMessage, number: str, duplicate: bool) -> StoredMessage:
        """What the acknowledgement may say: the triage, and whether a question awaits this."""
        if self.triage is None:
            return StoredMessage(message, number, duplicate)
        triage = self.triage(message)
        continues = False
        if self.waiting is not None and triage.command is None:
            try:
                continues = await self.waiting(message.channel, message.sender)
            except _STORAGE_ERRORS:
                # Stored already: a wrong guess only costs a spare receipt, never the message.
                log.warning("inbound.conversation_unknown", exc_info=True)
        command = triage.command.kind if triage.command else None
        return StoredMessage(
            message, number, duplicate, triage.language, triage.emergency, command, continues
        )


def _unavailable(exc: Exception) -> StorageUnavailable:
    # Our fault, not the provider's: a 503 makes providers that retry come back later.
    log.error("inbound.store_failed", extra={"error": repr(exc)})
    return StorageUnavailable("the message could not be stored; try again later")


def public_url(request: web.Request, server: ServerSettings) -> str:
    """The URL the provider called (and signed): configured, proxied, or as seen."""
    if server.public_url:
        return server.public_url + request.path_qs
    if server.trust_proxy:
        proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host") or request.host
        return f"{proto}://{host.split(',')[0].strip()}{request.path_qs}"
    return str(request.url)


def error_response(status: int, code: str, reason: str) -> web.Response:
    """The gateway's one error shape: ``{"error": code, "reason": text}``."""
    return web.Response(
        text=json.dumps({"error": code, "reason": reason}),
        status=status,
        content_type="application/json",
    )
