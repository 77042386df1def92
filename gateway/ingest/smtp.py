"""The SMTP listener for mail sent straight to the city's 311 address (aiosmtpd, RFC 5321).

Only recipients in the configured domains are accepted (550 otherwise: never an open relay);
mail over the size limit gets 552 (aiosmtpd's SIZE check); 250 is answered only once the raw
message is durably stored, and a storage failure is 451 so the sending server tries again.
Mail that cannot be read is stored flagged for staff and answered 554. STARTTLS is offered
when ``tls_cert`` and ``tls_key`` are configured. Options live in ``[channels.smtp]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels import ChannelContext, WebhookRequest
from channels.smtp import MAIL_FROM, RCPT_TO, Smtp
from gateway.config.settings import Settings
from gateway.errors import IngestError, StorageUnavailable
from gateway.ingest.core import IngestCore
from gateway.log import mask_address
from gateway.store.inbound import InboundWriter

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class Process(Protocol):
    """What the listener needs of its process (a ``gateway.runtime.Runtime`` has it)."""

    settings: Settings
    writer: InboundWriter

    @property
    def ingest(self) -> IngestCore: ...


class ListenerSmtp(SMTP):
    """aiosmtpd's server, tolerant of the over-long lines (past RFC 5321's 1000) some clients send.

    Mail is still read line by line with CRLF ends only (aiosmtpd >= 1.4.6: no SMTP smuggling).
    """

    line_length_limit = 16384


class SmtpIngest:
    """aiosmtpd hooks: check each recipient, store each message before answering 250."""

    def __init__(self, core: IngestCore, channel: Smtp, public_url: str) -> None:
        self.core = core
        self.channel = channel
        self.public_url = public_url
        domains = channel.options.get("domains") or ["localhost"]
        self.domains = frozenset(str(d).lower() for d in domains)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if domain not in self.domains:
            log.info("smtp.recipient_refused", extra={"recipient": mask_address(address)})
            return "550 5.7.1 Relaying denied: not a 311 address here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        raw = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
        headers = {
            MAIL_FROM: envelope.mail_from or "",
            RCPT_TO: ", ".join(envelope.rcpt_tos),
            "x-smtp-peer": str(session.peer[0]) if session.peer else "",
        }
        request = WebhookRequest("SMTP", self.public_url, headers, raw)
        try:
            stored = await self.core.take(self.channel, request)
        except StorageUnavailable:
            # Our fault, not the sender's: a 4xx makes the sending server keep the mail and retry.
            return "451 4.3.0 The message could not be stored; try again later"
        except IngestError:
            return "554 5.6.0 The message could not be read; it was kept for the city's staff"
        return f"250 2.0.0 OK: stored as {stored[0].tracking_number}"


def tls_context(options: Mapping[str, Any], base_dir: Path) -> ssl.SSLContext | None:
    """A server TLS context from ``tls_cert`` / ``tls_key``, or None when not configured."""
    cert, key = options.get("tls_cert"), options.get("tls_key")
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(base_dir / str(cert), base_dir / str(key))
    return context


async def start_smtp(
    runtime: Process, host: str | None = None, port: int | None = None
) -> asyncio.Server:
    """Listen for mail on ``host:port`` (default: ``[smtp]``); returns the listening server."""
    settings = runtime.settings
    plugin = settings.channels.get("smtp")
    options: Mapping[str, Any] = plugin.options if plugin else {}
    channel = Smtp(options, ChannelContext(settings.city_name, settings.message))
    host = host or settings.smtp.host
    port = settings.smtp.port if port is None else port
    handler = SmtpIngest(runtime.ingest, channel, f"smtp://{host}:{port}")
    context = tls_context(options, settings.base_dir)
    limit = int(options.get("max_message_bytes", DEFAULT_MAX_BYTES))
    hostname = str(options.get("hostname") or sorted(handler.domains)[0])
    # aiosmtpd logs full addresses at INFO; ours are logged masked instead.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    await runtime.writer.start()

    def protocol() -> SMTP:
        return ListenerSmtp(
            handler,
            data_size_limit=limit,
            enable_SMTPUTF8=True,
            hostname=hostname,
            tls_context=context,
            require_starttls=bool(context and options.get("require_starttls", False)),
        )

    server = await asyncio.get_running_loop().create_server(protocol, host, port)
    bound = server.sockets[0].getsockname()
    log.info("smtp.listening", extra={"host": bound[0], "port": bound[1], "tls": bool(context)})
    return server


async def serve_smtp(runtime: Process) -> None:
    """The SMTP role: listen until cancelled (idle when ``[channels.smtp]`` is disabled)."""
    plugin = runtime.settings.channels.get("smtp")
    if plugin is None or not plugin.enabled:
        log.info("smtp.disabled", extra={"key": "channels.smtp.enabled"})
        await asyncio.Event().wait()
    server = await start_smtp(runtime)
    try:
        await asyncio.Event().wait()
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)
