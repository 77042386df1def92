"""What one stored message means, and what it leaves behind.

In order: a provider's delivery receipt; a carrier or 311 command (STOP, START, STATUS); the
answer to a question we asked; the continuation of an existing request (an email reply); and
otherwise a new report, normalized into a service request that is filed at once or held while
the resident is asked for what it lacks.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

import channels

# Email replies find their request through this module's thread finder; import it to register.
from gateway import metrics
from gateway.config.settings import Settings
from gateway.intake import calls, commands
from gateway.intake.chat import ChatChanges
from gateway.intake.fetches import media_fetches
from gateway.intake.followup import FollowUps
from gateway.intake.threads import find_thread
from gateway.log import tracing
from gateway.outbox import jobs
from gateway.outbox.replies import enqueue_reply
from gateway.records import (
    Flags,
    InboundMessage,
    Location,
    NormalizedReport,
    OpenRequest,
    Service,
    ServiceRequest,
    Status,
)
from gateway.store import conversations, requests
from gateway.store.received import Claimed
from gateway.tracking import tracking_number_for
from normalizer.commands import parse_command

log = logging.getLogger(__name__)

Normalize = Callable[[InboundMessage, Sequence[OpenRequest], datetime], Awaitable[NormalizedReport]]


@dataclass(frozen=True, slots=True)
class NewReport:
    """A new request to file; ``choices`` are the services to offer if it must ask."""

    request: ServiceRequest
    choices: tuple[str, ...]
    confirm: bool
    inbound_id: int


@dataclass(frozen=True, slots=True)
class Handled:
    """A message that was not a new report, the request it concerned, and what it is kept as."""

    request_id: str | None
    state: str = "processed"


Outcome = NewReport | Handled | str


class Router:
    """Routes stored messages and files what they make."""

    def __init__(
        self,
        settings: Settings,
        normalize: Normalize,
        catalog: Mapping[str, Service],
        followups: FollowUps,
        *,
        series: int,
    ) -> None:
        self.settings = settings
        self.normalize = normalize
        self.catalog = catalog
        self.followups = followups
        self.chat = ChatChanges(followups, normalize)
        # The database's tracking series: a request's number is its message's, as acknowledged.
        self.series = series

    async def route(
        self, conn: AsyncConnection, claimed: Claimed, open_now: list[OpenRequest], now: datetime
    ) -> Outcome:
        """Act on one stored message; a new report is returned to be filed with its batch."""
        # The message's receipt number, which its request takes when it is a new report.
        with tracing(tracking_number_for(claimed.id, self.series)):
            return await self._route(conn, claimed, open_now, now)

    async def _route(
        self, conn: AsyncConnection, claimed: Claimed, open_now: list[OpenRequest], now: datetime
    ) -> Outcome:
        message = claimed.message
        cls = channels.REGISTRY.get(message.channel)
        if cls is not None and cls.kind == "receipt":
            return Handled(await commands.record_receipt(conn, message))
        if message.call is not None:
            # One webhook of a phone call: its report is filed by the call flow, once.
            request_id, state = await calls.settle_step(conn, message, message.call, claimed.id)
            return Handled(request_id, state)
        if cls is not None and cls.converses:
            if message.auto_reply:
                # A bot's post or a message that is not a resident's words: never an answer.
                return Handled(None, state="auto")
            if message.chat is not None and message.chat.change:
                changed = await self.chat.apply(conn, message, claimed.id, open_now, now)
                return Handled(changed)
            handled = await self._converse(conn, message, open_now, now)
            if handled is not None:
                return handled
        thread = await find_thread(conn, message)
        if thread is not None:
            await _add_update(conn, thread, message, claimed.id)
            return Handled(thread)
        if message.auto_reply:
            # A bounce or an out-of-office that belongs to no request opens none: kept for staff.
            log.info("intake.auto_message_kept", extra={"inbound_id": claimed.id})
            return Handled(None, state="auto")
        return await self._understand(claimed, message, open_now, now)

    async def _converse(
        self,
        conn: AsyncConnection,
        message: InboundMessage,
        open_now: list[OpenRequest],
        now: datetime,
    ) -> Handled | None:
        command = parse_command(message.text)
        if command is not None:
            return Handled(await commands.run_command(conn, self.settings, message, command))
        waiting = await conversations.waiting(conn, message.channel, message.sender, now)
        if waiting is None:
            return None
        # A message in a thread (an X reply) answers only the question asked in that thread.
        if message.thread is not None and await find_thread(conn, message) != waiting.request_id:
            return None
        located = message.location or (await self.normalize(message, open_now, now)).location
        await self.followups.answer(conn, waiting, message, _precise(located), now)
        return Handled(waiting.request_id)

    async def _understand(
        self, claimed: Claimed, message: InboundMessage, open_now: list[OpenRequest], now: datetime
    ) -> NewReport | str:
        try:
            report = await self.normalize(message, open_now, now)
        except Exception as exc:
            # A normalizer bug must not stall the queue: the message is flagged for staff.
            log.exception("intake.normalize_failed", extra={"inbound_id": claimed.id})
            metrics.INTAKE.labels("failed").inc()
            return f"normalizer: {exc!r}"
        request = self._request(claimed, message, report, now)
        if request.flags.needs_follow_up and self.followups.can_ask(request):
            request = dataclasses.replace(request, status=Status.AWAITING_INFO)
        place = request.location
        if place is not None and place.lat is not None and place.long is not None:
            # Later messages in the same batch may duplicate this one.
            open_now.append(
                OpenRequest(
                    request.tracking_number, request.service_code, place.lat, place.long, now
                )
            )
        cls = channels.REGISTRY.get(message.channel)
        # A caller who asked for a text copy gets one, though the call read the number out.
        confirms_in_ack = bool(cls and cls.confirms_in_ack) and not message.declared.text_copy
        confirm = not confirms_in_ack and not message.auto_reply
        choices = tuple(code for code, _ in report.classification.top)
        return NewReport(request, choices, confirm, claimed.id)

    def _request(
        self, claimed: Claimed, message: InboundMessage, report: NormalizedReport, now: datetime
    ) -> ServiceRequest:
        code = report.classification.service_code
        service = self.catalog.get(code) if code else None
        return ServiceRequest(
            id=uuid.uuid4().hex,
            tracking_number=tracking_number_for(claimed.id, self.series),
            channel=message.channel,
            channel_message_id=message.provider_id,
            received_at=claimed.received_at,
            updated_at=now,
            reporter=report.reporter,
            description=report.description,
            original_text=report.original_text,
            service_code=code,
            service_name=service.name(report.reporter.language) if service else None,
            service_confidence=report.classification.confidence,
            attributes=dict(message.declared.attributes),
            location=report.location,
            media=report.media or message.media,
            flags=_reviewed(report.flags, message.review),
            status=Status.ACCEPTED,
        )

    async def file(
        self, conn: AsyncConnection, reports: Sequence[NewReport], now: datetime
    ) -> None:
        """Write a batch's new requests with their first events; file or hold each one."""
        await requests.insert_requests(conn, [r.request for r in reports])
        await requests.add_events(
            conn,
            [
                requests.event_row(
                    r.request.id,
                    "received",
                    status=r.request.status.value,
                    detail={
                        "channel": r.request.channel,
                        "inbound_id": r.inbound_id,
                        "flags": _flag_names(r.request),
                    },
                )
                for r in reports
            ],
        )
        quiet = [
            r.request for r in reports if r.request.status is Status.ACCEPTED and not r.confirm
        ]
        # The common case in one statement: filed at once, confirmed in the acknowledgement.
        deliveries = [jobs.delivery(q.id, c) for q in quiet for c in self.followups.connectors]
        await jobs.enqueue(conn, deliveries, now=now)
        await jobs.enqueue(conn, [f for r in reports for f in media_fetches(r.request)], now=now)
        for r in reports:
            if r.confirm and r.request.flags.emergency and _converses(r.request.channel):
                # Where the acknowledgement could not say it (a Slack event), the outbox does.
                await enqueue_reply(
                    conn, self.settings, r.request, "emergency", "emergency", key="1"
                )
            if r.request.status is Status.AWAITING_INFO:
                await self.followups.hold(conn, r.request, r.choices, now)
            elif r.confirm:
                await self.followups.accept(conn, r.request, now, confirm=True)
        metrics.INTAKE.labels("processed").inc(len(reports))


async def _add_update(
    conn: AsyncConnection, request_id: str, message: InboundMessage, inbound_id: int
) -> None:
    """A resident's later word on their request: kept in its history, photos added to it."""
    detail = {
        "channel": message.channel,
        "inbound_id": inbound_id,
        "text": message.text[:2000],
        "media": [m.url or m.path for m in message.media],
    }
    await requests.add_event(conn, request_id, "resident_update", detail=detail)
    request = await requests.get_request(conn, request_id)
    if request is not None and message.media:
        updated = dataclasses.replace(request, media=request.media + message.media)
        await requests.update_request(conn, updated)
        # A photo sent later is fetched like the first ones.
        later = media_fetches(updated, first=len(request.media))
        await jobs.enqueue(conn, later, now=datetime.now(UTC))


def _reviewed(flags: Flags, review: str) -> Flags:
    """The flags, with staff's review asked for when the channel could not finish the report."""
    if not review or "review" in flags.needs_follow_up:
        return flags
    return dataclasses.replace(flags, needs_follow_up=(*flags.needs_follow_up, "review"))


def _converses(channel: str) -> bool:
    cls = channels.REGISTRY.get(channel)
    return cls is not None and cls.converses


def _precise(location: Location | None) -> Location | None:
    """Only a place with coordinates answers "where is it?"; anything else is kept as text."""
    return location if location is not None and location.lat is not None else None


def _flag_names(request: ServiceRequest) -> list[str]:
    flags = request.flags
    names = [f"needs_{item}" for item in flags.needs_follow_up]
    if flags.emergency:
        names.append("emergency")
    if flags.possible_duplicate_of:
        names.append(f"possible_duplicate_of:{flags.possible_duplicate_of}")
    return names
