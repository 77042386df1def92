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


SHUTTING_DOWN = "421 4.3.2 Service shutting down, try again later"


class ListenerSmtp(SMTP):
    """aiosmtpd's server, tolerant of the over-long lines (past RFC 5321's 1000) some clients send.

    Mail is still read line by line with CRLF ends only (aiosmtpd >= 1.4.6: no SMTP smuggling).
    Each session is counted in its handler's ``sessions`` so that a stopping listener can wait
    for them; a session opened while it drains is greeted with 421 (RFC 5321 4.2.3), which makes
    the sending server keep the mail and try again.
    """

    line_length_limit = 16384
    event_handler: SmtpIngest

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.event_handler.sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.event_handler.sessions.discard(self)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        # aiosmtpd has no hook before its 220 greeting: this is where a session begins.
        if self.event_handler.draining:
            await self.push(SHUTTING_DOWN)
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()


class SmtpIngest:
    """aiosmtpd hooks: check each recipient, store each message before answering 250."""

    def __init__(self, core: IngestCore, channel: Smtp, public_url: str) -> None:
        self.core = core
        self.channel = channel
        self.public_url = public_url
        domains = channel.options.get("domains") or ["localhost"]
        self.domains = frozenset(str(d).lower() for d in domains)
        self.sessions: set[SMTP] = set()
        self.draining = False

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
        except Exception:
            # Never aiosmtpd's "500 Error: (...)": our fault, so the sending server tries again.
            log.error("smtp.internal_error", extra={"peer": headers["x-smtp-peer"]})
            return "451 4.3.0 The message could not be taken; try again later"
        return f"250 2.0.0 OK: stored as {stored[0].tracking_number}"


def tls_context(options: Mapping[str, Any], base_dir: Path) -> ssl.SSLContext | None:
    """A server TLS context from ``tls_cert`` / ``tls_key``, or None when not configured."""
    cert, key = options.get("tls_cert"), options.get("tls_key")
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(base_dir / str(cert), base_dir / str(key))
    return context


class SmtpListener:
    """A listening SMTP server and its sessions, which it can drain before closing."""

    def __init__(self, server: asyncio.Server, ingest: SmtpIngest) -> None:
        self.server = server
        self.ingest = ingest

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def drain(self, seconds: float) -> None:
        """Greet new sessions with 421, give those in progress up to ``seconds`` to end, then
        close the listener and whatever sessions are left (their mail was not yet answered 250,
        so the sending servers keep it and retry)."""
        self.ingest.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.ingest.sessions and loop.time() < deadline:
            for session in list(self.ingest.sessions):
                if not _in_transaction(session):
                    _say_goodbye(session)  # idle: nothing of its is lost by closing it now
            await asyncio.sleep(0.05)
        self.close()
        for session in list(self.ingest.sessions):
            if session.transport is not None:
                session.transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), 5)

    def close(self) -> None:
        self.server.close()


def _in_transaction(session: SMTP) -> bool:
    """Whether a session has begun a mail transaction (MAIL FROM) that is not yet answered."""
    return session.envelope is not None and session.envelope.mail_from is not None


def _say_goodbye(session: SMTP) -> None:
    transport = session.transport
    if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
        transport.write(f"{SHUTTING_DOWN}\r\n".encode())
        transport.close()


async def start_smtp(
    runtime: Process, host: str | None = None, port: int | None = None
) -> SmtpListener:
    """Listen for mail on ``host:port`` (default: ``[smtp]``); returns the listener."""
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
    return SmtpListener(server, handler)


async def serve_smtp(runtime: Process, stopping: asyncio.Event | None = None) -> None:
    """The SMTP role: listen until ``stopping`` is set, then drain (idle when
    ``[channels.smtp]`` is disabled)."""
    stopping = stopping or asyncio.Event()
    plugin = runtime.settings.channels.get("smtp")
    if plugin is None or not plugin.enabled:
        log.info("smtp.disabled", extra={"key": "channels.smtp.enabled"})
        await stopping.wait()
        return
    listener = await start_smtp(runtime)
    try:
        await stopping.wait()
        log.info("smtp.draining", extra={"sessions": len(listener.ingest.sessions)})
        await listener.drain(runtime.settings.server.shutdown_seconds)
    finally:
        listener.close()
