"""The ingest core over HTTP: one aiohttp handler per channel webhook route.

Size and type are checked before the body is read (413, 415); the rest of the contract is the
core's (``gateway.ingest.core``). The answer is the channel's own acknowledgement, or its own
rejection, or the gateway's one error shape ``{"error": code, "reason": text}``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from channels import Ack, Channel, StoredMessage, WebhookRequest
from gateway.config.settings import ServerSettings
from gateway.errors import IngestError, MalformedPayload, PayloadTooLarge, UnsupportedMediaType
from gateway.ingest.core import IngestCore

Answer = Callable[[WebhookRequest, Sequence[StoredMessage]], Awaitable[Ack]]


class WebhookHandler:
    """The aiohttp handler for one channel's webhook route.

    ``answer``, when given, computes the answer once the request is stored (a call's next
    prompt); otherwise the channel's ``acknowledge`` does.
    """

    def __init__(
        self,
        channel: Channel,
        core: IngestCore,
        server: ServerSettings,
        answer: Answer | None = None,
    ) -> None:
        self.channel = channel
        self.core = core
        self.server = server
        self.answer = answer

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            return self.challenge(request)
        started = time.perf_counter()
        try:
            req = await read_request(request, self.channel, self.server)
        except IngestError as exc:
            self.core.rejected(self.channel, exc)
            return error_response(exc.status, exc.code, exc.reason)
        try:
            stored = await self.core.take(self.channel, req, started)
        except IngestError as exc:
            ack = self.channel.reject(req, exc)
            if ack is not None:
                return web.Response(text=ack.body, status=exc.status, content_type=ack.content_type)
            return error_response(exc.status, exc.code, exc.reason)
        if self.answer is not None:
            ack = await self.answer(req, stored)
        else:
            ack = self.channel.acknowledge(req, stored)
        return web.Response(text=ack.body, status=ack.status, content_type=ack.content_type)

    def challenge(self, request: web.Request) -> web.Response:
        """The provider's proof-of-ownership ``GET``: answered by the channel, never stored."""
        req = WebhookRequest(
            method="GET",
            public_url=public_url(request, self.server),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=b"",
            query=dict(request.query),
        )
        try:
            ack = self.channel.challenge(req)
        except IngestError as exc:
            self.core.rejected(self.channel, exc)
            return error_response(exc.status, exc.code, exc.reason)
        return web.Response(text=ack.body, status=ack.status, content_type=ack.content_type)


async def read_request(
    request: web.Request, channel: Channel, server: ServerSettings
) -> WebhookRequest:
    """The body, read only when its type is the channel's and within the size limit."""
    limit = server.max_body_bytes
    if request.content_type not in channel.content_types:
        raise UnsupportedMediaType(
            f"Content-Type {request.content_type!r} is not one of {channel.content_types}"
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
        public_url=public_url(request, server),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=bytes(body),
        query=dict(request.query),
    )


# A host name or an IPv4 address, or an IPv6 one in brackets, then an optional port of digits.
_HOST = re.compile(
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?"
)


def public_url(request: web.Request, server: ServerSettings) -> str:
    """The URL the provider called (and signed): configured, proxied, or as seen.

    A Host (or X-Forwarded-Host) that is no host and port is refused (400) before it is used:
    the URL is rebuilt from it to check a signature, and must not be a 500 or a surprise."""
    if server.public_url:
        return server.public_url + request.path_qs
    proto, host = request.scheme, request.host
    if server.trust_proxy:
        proto = request.headers.get("X-Forwarded-Proto", proto).split(",")[0].strip().lower()
        host = (request.headers.get("X-Forwarded-Host") or host).split(",")[0].strip()
    match = _HOST.fullmatch(host)
    if proto not in ("http", "https") or match is None or not 0 < int(match[1] or 80) < 65536:
        raise MalformedPayload("the Host header is not a host name and port")
    return f"{proto}://{host}{request.path_qs}"


def error_response(status: int, code: str, reason: str) -> web.Response:
    """The gateway's one error shape: ``{"error": code, "reason": text}``."""
    return web.Response(
        text=json.dumps({"error": code, "reason": reason}),
        status=status,
        content_type="application/json",
    )
