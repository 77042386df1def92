"""Asking residents for what a report lacks, and filling it in from their answer.

A report missing what the catalog requires (usually a place; a service when the classifier is
unsure, offered as numbered choices) is held and gets one short question, when its channel can
converse and its notifier is on. The answer completes the same request, which is then filed.
Unanswered questions expire and the report is filed as it is, flagged for staff.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

import channels
from gateway.config.settings import Settings
from gateway.outbox import jobs
from gateway.outbox.replies import enqueue_reply, reply_notifier
from gateway.records import Flags, InboundMessage, Location, Service, ServiceRequest, Status
from gateway.store import conversations, requests
from gateway.store.conversations import Conversation

ANSWERED_PLACE = Location(source="resident", confidence=0.3)


class FollowUps:
    """Holds, asks, completes and files requests."""

    def __init__(
        self,
        settings: Settings,
        catalog: Mapping[str, Service],
        connectors: Sequence[str],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        # Told when a question opens or closes, so the acknowledgement's view stays current.
        self.on_change = on_change
        self.catalog = catalog
        self.connectors = connectors
        self.expiry = timedelta(hours=settings.conversation_expiry_hours)
        self.enabled_notifiers = {n.name for n in settings.enabled_notifiers()}

    def can_ask(self, request: ServiceRequest) -> bool:
        """True when the resident can be asked, and their answer awaited, on their channel."""
        cls = channels.REGISTRY.get(request.channel)
        notifier = reply_notifier(request.channel, request.reporter.address or "")
        return bool(
            cls is not None
            and cls.converses
            and notifier in self.enabled_notifiers
            and request.reporter.address
            and not request.reporter.anonymous
            and not request.flags.emergency
        )

    async def hold(
        self, conn: AsyncConnection, request: ServiceRequest, choices: Sequence[str], now: datetime
    ) -> None:
        """Ask the first question a held request needs."""
        missing = request.flags.needs_follow_up
        if "service" in missing and len(choices) > 1:
            await self._ask(conn, request, "service", choices, now)
        else:
            await self._ask(conn, request, "location", (), now)

    async def accept(
        self, conn: AsyncConnection, request: ServiceRequest, now: datetime, *, confirm: bool
    ) -> None:
        """File ``request`` with every connector; confirm it unless the ack already did."""
        delivery = [jobs.delivery(request.id, c) for c in self.connectors]
        await jobs.enqueue(conn, delivery, now=now)
        if confirm:
            await enqueue_reply(
                conn, self.settings, request, "confirmation", "confirmation", key="1"
            )

    async def answer(
        self,
        conn: AsyncConnection,
        conversation: Conversation,
        message: InboundMessage,
        located: Location | None,
        now: datetime,
    ) -> None:
        """Apply the resident's answer, then ask the next question or file the request."""
        request = await requests.get_request(conn, conversation.request_id)
        if request is None:
            await conversations.close(conn, conversation.channel, conversation.address)
            return
        if conversation.awaiting == "service":
            request = self._chosen(request, message, conversation.choices)
        else:
            place = located or dataclasses.replace(ANSWERED_PLACE, address=message.text.strip())
            request = _with(request, location=place, drop="location")
        if "location" in request.flags.needs_follow_up and conversation.awaiting == "service":
            await requests.update_request(conn, request)
            await self._ask(conn, request, "location", (), now)
            return
        await self._complete(conn, request, now, reply=True)

    async def expire(self, conn: AsyncConnection, now: datetime) -> int:
        """File every request whose question went unanswered, as it is."""
        stale = await conversations.expired(conn, now, limit=100)
        for conversation in stale:
            request = await requests.get_request(conn, conversation.request_id)
            await conversations.close(conn, conversation.channel, conversation.address)
            if request is not None and request.status is Status.AWAITING_INFO:
                await requests.add_event(conn, request.id, "question_expired")
                await self._complete(conn, request, now, reply=False)
        return len(stale)

    async def _complete(
        self, conn: AsyncConnection, request: ServiceRequest, now: datetime, *, reply: bool
    ) -> None:
        request = dataclasses.replace(request, status=Status.ACCEPTED)
        await requests.update_request(conn, request)
        await conversations.close(conn, request.channel, request.reporter.address or "")
        self.on_change()
        await requests.add_event(conn, request.id, "completed", status=Status.ACCEPTED.value)
        await self.accept(conn, request, now, confirm=False)
        if reply:
            await enqueue_reply(conn, self.settings, request, "completed", "completed", key="1")

    async def _ask(
        self,
        conn: AsyncConnection,
        request: ServiceRequest,
        awaiting: str,
        choices: Sequence[str],
        now: datetime,
    ) -> None:
        address = request.reporter.address or ""
        asked = Conversation(
            request.channel, address, request.id, awaiting, tuple(choices), now, now + self.expiry
        )
        await conversations.ask(conn, asked)
        self.on_change()
        await requests.add_event(
            conn,
            request.id,
            "question",
            status=Status.AWAITING_INFO.value,
            detail={"awaiting": awaiting, "choices": list(choices)},
        )
        language = request.reporter.language
        values = {"choices": self._numbered(choices, language)} if choices else {}
        offer = [(c, self._name(c, language)) for c in choices]
        await enqueue_reply(
            conn,
            self.settings,
            request,
            "question",
            f"ask_{awaiting}",
            key=awaiting,
            offer=offer,
            **values,
        )

    def _name(self, code: str, language: str) -> str:
        return self.catalog[code].name(language) if code in self.catalog else code

    def _numbered(self, choices: Sequence[str], language: str) -> str:
        names = [self._name(c, language) for c in choices]
        return ", ".join(f"{i} {name}" for i, name in enumerate(names, start=1))

    def _chosen(
        self, request: ServiceRequest, message: InboundMessage, choices: Sequence[str]
    ) -> ServiceRequest:
        """The service the resident picked by number (or by button, where the channel has
        them); the classifier's guess otherwise."""
        answer = message.text.strip().rstrip(".")
        code = ""
        if message.declared.service_code in choices:
            code = message.declared.service_code
        elif answer.isdigit() and 1 <= int(answer) <= len(choices):
            code = choices[int(answer) - 1]
        if code:
            service = self.catalog.get(code)
            name = service.name(request.reporter.language) if service else code
            request = dataclasses.replace(
                request, service_code=code, service_name=name, service_confidence=1.0
            )
        return _with(request, drop="service")


def _with(
    request: ServiceRequest, *, drop: str, location: Location | None = None
) -> ServiceRequest:
    """``request`` with one need met (and its place, when that was the need)."""
    needs = tuple(n for n in request.flags.needs_follow_up if n != drop)
    flags: Flags = dataclasses.replace(request.flags, needs_follow_up=needs)
    return dataclasses.replace(request, flags=flags, location=location or request.location)
