"""Inbound channels: one module per provider webhook, joined to one registry by ``@register``.

A channel verifies and parses, nothing else: no database, no normalizing, no outbound calls.
Importing this package imports every module in it, so adding a file is enough to add a channel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from channels._safe import load_json
from gateway.errors import IngestError, MalformedPayload
from gateway.plugin import Plugin, Registry
from gateway.records import InboundMessage


@dataclass(frozen=True)
class WebhookRequest:
    """One provider request as the channel sees it: the public URL it was sent to, and bytes."""

    method: str
    public_url: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        """A header's value, or "" when absent (names are case-insensitive)."""
        return self.headers.get(name.lower(), "")

    @cached_property
    def form(self) -> dict[str, str]:
        """The urlencoded body, parsed once; blank values are kept because providers sign them."""
        try:
            text = self.body.decode("utf-8")
            return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedPayload(f"body is not a valid urlencoded form: {exc}") from exc

    def json(self) -> Any:
        """The JSON body, refused (400) when it nests too deep to parse safely."""
        return load_json(self.body)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """What the gateway stored for a message, and what it already knows, for the acknowledgement.

    ``language``, ``emergency`` and ``command`` come from the triage before the ack;
    ``continues`` is true when the message answers a question the gateway asked, so it is not a
    new report and must not be given a tracking number of its own.
    """

    message: InboundMessage
    tracking_number: str
    duplicate: bool
    language: str = "en"
    emergency: bool = False
    command: str | None = None
    continues: bool = False


@dataclass(frozen=True, slots=True)
class Ack:
    """The answer the provider gets once its messages are stored."""

    body: str = ""
    content_type: str = "application/json"
    status: int = 200


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What a channel may know of the gateway: the city's name and its reply templates."""

    city_name: str
    message: Callable[..., str]


class Channel(Plugin):
    """Base of every inbound channel. ``options`` is its ``[channels.<name>]`` table."""

    section: ClassVar[str] = "channels"
    # The webhook route the gateway serves for this channel; None when another front (the SMTP
    # listener, the form pages, the Open311 server) receives its traffic and hands it to the core.
    route: ClassVar[str | None] = None
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    content_types: ClassVar[tuple[str, ...]] = ()
    # The notifier that answers residents who wrote on this channel; None: no replies.
    reply_via: ClassVar[str | None] = None
    # "report": residents' messages; "receipt": a provider's delivery reports on our replies.
    kind: ClassVar[str] = "report"
    # True when the gateway may ask this channel's residents a question and await the answer.
    converses: ClassVar[bool] = False
    # True when the acknowledgement itself confirms the report to the resident (TwiML).
    confirms_in_ack: ClassVar[bool] = False
    # The fetcher that copies this provider's media URLs into the gateway; None: keep the URLs.
    media_fetcher: ClassVar[str | None] = None
    # The part of the gateway that answers each stored webhook with what it works out then (a
    # phone call's next prompt: "call_flow"); None: ``acknowledge`` answers.
    answered_by: ClassVar[str | None] = None
    # True when a verified request may hold nothing for the gateway (X's Account Activity sends
    # likes and follows, Meta sends read receipts and our own messages' echoes): it is answered
    # and nothing is stored. False: an empty parse is malformed (400, kept for staff).
    may_hold_nothing: ClassVar[bool] = False
    # True when a message's ``thread.references`` name the provider id of the post its
    # conversation started with (X's ``conversation_id``), which made the request it continues.
    # Such threads are public: only the request's own reporter continues it.
    threads_by_first_post: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any], context: ChannelContext) -> None:
        super().__init__(options)
        self.context = context

    @classmethod
    def notifier_for(cls, address: str) -> str | None:
        """The notifier that answers ``address``; most channels answer all theirs one way."""
        return cls.reply_via

    def verify(self, req: WebhookRequest) -> None:
        """Raise ``BadSignature`` unless the provider really sent ``req``."""
        raise NotImplementedError

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        """The messages in ``req``; raise ``MalformedPayload`` with a reason when there are none."""
        raise NotImplementedError

    def challenge(self, req: WebhookRequest) -> Ack:
        """Answer the provider's ``GET`` that proves we own the URL (X's CRC, Meta's
        ``hub.challenge``); nothing is stored. Raise ``BadSignature`` or ``MalformedPayload``."""
        raise MalformedPayload(f"{self.name} answers no GET")

    def replay_token(self, req: WebhookRequest) -> str | None:
        """A one-time token the signature covers (Mailgun's), checked against replays; None."""
        return None

    def acknowledge(self, req: WebhookRequest, stored: Sequence[StoredMessage]) -> Ack:
        """The provider's answer once ``stored`` is durable."""
        return Ack(json.dumps({"received": [s.tracking_number for s in stored]}))

    def reject(self, req: WebhookRequest, error: IngestError) -> Ack | None:
        """A provider-specific answer to bad input, or None for the gateway's JSON error."""
        return None


_registry: Registry[Channel] = Registry("channel", __name__, __path__)
REGISTRY = _registry.classes
register = _registry.register
load_all = _registry.load_all
