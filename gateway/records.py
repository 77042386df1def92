"""The gateway's records: what a channel hands in, what the normalizer makes of it, what is filed.

The service request is aligned with Open311 GeoReport v2 so that it maps onto most city case
systems without loss. Every record is immutable; a change is a new value (``dataclasses.replace``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Status(enum.StrEnum):
    """Where a service request stands, from the gateway's point of view and the city's."""

    RECEIVED = "received"
    AWAITING_INFO = "awaiting_info"
    ACCEPTED = "accepted"
    SUBMITTED = "submitted"
    FAILED = "failed"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Media:
    """A photo or file that came with a message: a provider URL, a stored file, or both."""

    content_type: str
    url: str | None = None
    path: str | None = None
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """Where the problem is, where that came from (``provider``, ``exif``, ``text``), how sure."""

    lat: float | None = None
    long: float | None = None
    address: str | None = None
    zipcode: str | None = None
    source: str = "unknown"
    confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class Declared:
    """What the resident stated outright on a form or an API call, rather than what is inferred."""

    name: str = ""
    email: str = ""
    phone: str = ""
    language: str = ""
    service_code: str = ""
    # The catalog's extra questions as answered (Open311 ``attribute[...]``).
    attributes: Mapping[str, Any] = field(default_factory=dict)
    anonymous: bool = False
    # A caller asked for the tracking number by text message as well as hearing it.
    text_copy: bool = False


@dataclass(frozen=True, slots=True)
class CallStep:
    """One webhook of a phone call (an answer, a status): a step of the call, not a report.

    The call's report is filed once, by the call flow, as a message of its own.
    """

    call_id: str
    # "answer" (to a prompt of ours), "status", "recording", "transcription".
    event: str
    # Which of our answers this webhook responds to (0: the call's first request).
    seq: int = 0
    # The keys the caller pressed; what they said is the message's text.
    digits: str = ""
    # Twilio's CallStatus (DialCallStatus after a transfer), RecordingStatus...
    status: str = ""


@dataclass(frozen=True, slots=True)
class MailThread:
    """How an email names the conversation it belongs to (RFC 5322 threading headers)."""

    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    # ``311+K7M2QX@city.gov``: the tracking number a reply was addressed to.
    plus_tag: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """A provider's report on a message the gateway sent: what became of it."""

    message_id: str
    status: str
    error_code: str = ""
    # True when the provider says the address cannot be reached: it is not messaged again.
    unreachable: bool = False


@dataclass(frozen=True, slots=True)
class ChatPlace:
    """Where a chat message sits (a Slack channel and thread), so that answers join its thread."""

    # Where to answer: the provider's conversation (Slack's channel id, ``C…`` or ``D…``).
    conversation: str
    # The thread to answer in (Slack's ``thread_ts`` of its first message); "" at top level.
    thread: str = ""
    # The provider id of the message this one continues: its thread's first message, or the
    # message an edit or a deletion changes.
    parent_id: str = ""
    # "edited" or "deleted" (the message ``parent_id`` changed), "choice" (the resident pressed
    # one of our buttons); "" for a new message.
    change: str = ""
    # The tracking number a pressed button belongs to.
    tracking_number: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message as a channel adapter parsed it: verified, not yet understood."""

    channel: str
    provider_id: str
    sender: str
    text: str = ""
    media: tuple[Media, ...] = ()
    location: Location | None = None
    raw: bytes = b""
    subject: str | None = None
    # The name the provider shows for the sender (WhatsApp's profile name).
    sender_name: str = ""
    declared: Declared = Declared()
    thread: MailThread | None = None
    receipt: DeliveryReceipt | None = None
    chat: ChatPlace | None = None
    # Why a machine sent this (a bounce, an out-of-office); "" when a person wrote it.
    auto_reply: str = ""
    # A step of a phone call, which the intake files no request for (the call flow does).
    call: CallStep | None = None
    # Why staff must review this report before trusting it (a caller hung up mid-call).
    review: str = ""
    # Provider details kept for staff, which no code path depends on (an email's SPF verdict).
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reporter:
    """Who reported it and how to answer them. An anonymous reporter carries no contact onward."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    anonymous: bool = False
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Classification:
    """The catalog service a text most likely belongs to, and the runners-up."""

    service_code: str | None
    confidence: float = 0.0
    top: tuple[tuple[str, float], ...] = ()
    low_confidence: bool = True


@dataclass(frozen=True, slots=True)
class Flags:
    """What staff and the conversation need to know about a request."""

    emergency: bool = False
    possible_duplicate_of: str | None = None
    needs_follow_up: tuple[str, ...] = ()
    unparsed: bool = False


@dataclass(frozen=True, slots=True)
class NormalizedReport:
    """What the normalizer understood of one inbound message."""

    description: str
    original_text: str
    reporter: Reporter
    classification: Classification
    location: Location | None = None
    flags: Flags = Flags()
    media: tuple[Media, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """The one record every channel becomes and every connector files."""

    id: str
    tracking_number: str
    channel: str
    channel_message_id: str
    received_at: datetime
    reporter: Reporter
    description: str
    original_text: str
    service_code: str | None = None
    service_name: str | None = None
    service_confidence: float = 0.0
    attributes: Mapping[str, Any] = field(default_factory=dict)
    location: Location | None = None
    media: tuple[Media, ...] = ()
    flags: Flags = Flags()
    status: Status = Status.RECEIVED
    case_id: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CaseRef:
    """The case system's answer to a submission: its id, or a token to look the id up later."""

    case_id: str | None = None
    token: str | None = None


@dataclass(frozen=True, slots=True)
class CaseUpdate:
    """A status change reported by the case system."""

    case_id: str
    status: str
    note: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """One choice of a list attribute (Open311 ``values``)."""

    key: str
    names: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ServiceAttribute:
    """An extra question the catalog asks for a service (Open311 service definition attribute)."""

    code: str
    datatype: str
    required: bool
    descriptions: Mapping[str, str]
    order: int = 0
    values: tuple[AttributeValue, ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    """One entry of the city's service catalog, with names and keywords per language."""

    code: str
    names: Mapping[str, str]
    descriptions: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]]
    group: str = ""
    location_required: bool = True
    # Category names the city's request history uses for this service ("Pothole Issue").
    aliases: tuple[str, ...] = ()
    attributes: tuple[ServiceAttribute, ...] = ()

    def name(self, language: str = "en") -> str:
        """The service's name in ``language``, falling back to English, then to any name."""
        return self.names.get(language) or self.names.get("en") or next(iter(self.names.values()))


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """An open request the duplicate check compares a new report against."""

    tracking_number: str
    service_code: str | None
    lat: float
    long: float
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Notification:
    """A message to a resident, on the channel they used, already in their language."""

    channel: str
    to: str
    body: str
    # Why it is sent: "confirmation", "question", "status", "emergency", "access_code"...
    purpose: str
    request_id: str | None = None
    subject: str | None = None
    # Channel details a reply needs: the number to send from, the email thread's Message-IDs.
    thread: Mapping[str, str] = field(default_factory=dict)
    # (service code, name) pairs a question offers, for a notifier that shows them as buttons.
    choices: tuple[tuple[str, str], ...] = ()


# The gateway's own mail carries this header and Message-IDs starting with this prefix, so that
# our mail coming back (an echo, a bounce, an auto-reply) is recognised and never answered.
LOOP_HEADER = "X-311-Gateway"
OWN_ID_PREFIX = "311gw."
# The key in an inbound mail's ``extra`` that says why no automatic mail may answer its sender
# (a forged, null or role address): such a report is kept, and answered by staff only.
NO_REPLY = "no_reply"
