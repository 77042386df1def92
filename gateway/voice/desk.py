"""The voice channel's answers: each stored webhook of a call, through the flow, to TwiML.

The ingest core has stored the webhook before the desk sees it. The desk reads the call's state
(``gateway.store.voice_calls``), asks the flow (``gateway.voice.flow``) for the next step and
answers it; a retried webhook gets the answer already given. A call's report is one message,
stored (keyed by its CallSid) in the transaction that marks the call filed: when the caller has
heard everything, when they hang up (status callback), or when the worker finds the call silent
(``sweep``). The intake then files it like any other report.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from channels import Ack, StoredMessage, WebhookRequest
from gateway.log import mask_phone
from gateway.records import CallStep, Declared, InboundMessage, Media
from gateway.store import voice_calls
from gateway.store.inbound import Envelope, InboundWriter, insert_messages
from gateway.store.voice_calls import CallRow
from gateway.voice.flow import CallFlow, Gathered, Heard, Transition
from gateway.voice.prompt import Voice, render, voices

log = logging.getLogger(__name__)

CHANNEL = "twilio_voice"
# Twilio's final call statuses: the call is over.
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
EMPTY = Ack('<?xml version="1.0" encoding="UTF-8"?><Response />', content_type="text/xml")
HUNG_UP = "the caller hung up before the end of the call"
TRANSFERRED = "the caller was put through to the call centre"
STALE = "the call's webhooks stopped before the end of the call"


class CallDesk:
    """Answers a call's webhooks and files its report once."""

    def __init__(
        self,
        engine: AsyncEngine,
        writer: InboundWriter,
        flow: CallFlow,
        *,
        route: str,
        voices: dict[str, str],
        max_recording_seconds: int,
        stale_after: timedelta,
        series: int,
        on_filed: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.flow = flow
        self.route = route
        self.voices = voices
        self.max_recording_seconds = max_recording_seconds
        self.stale_after = stale_after
        self.series = series
        self.on_filed = on_filed
        # Every write of a step shares the inbound writer's commit with the webhooks and the
        # other calls' steps of the moment.
        self.writer = writer

    async def answer(self, req: WebhookRequest, stored: Sequence[StoredMessage]) -> Ack:
        """The TwiML for one stored webhook of a call."""
        message = stored[0].message
        step = message.call
        if step is None:
            return EMPTY
        if step.event == "status":
            if step.status in ENDED:
                await self.hang_up(step.call_id)
            return EMPTY
        if step.event in ("recording", "transcription"):
            await self._attach(step, message)
            return EMPTY
        return Ack(await self._next(message, step), content_type="text/xml")

    async def _next(self, message: InboundMessage, step: CallStep) -> str:
        now = datetime.now(UTC)
        async with self.engine.connect() as conn:
            row = await voice_calls.get_call(conn, step.call_id)
        if row is None:
            return await self._start(message, step, now)
        if step.seq != row.seq or row.step == "done":
            # A retry (or a webhook for an answer we no longer give): the answer already given.
            return row.answer
        heard = Heard(message.text, step.digits, step.status)
        transition = await self.flow.advance(row.step, Gathered.from_json(row.data), heard)

        async def advance(conn: AsyncConnection) -> str:
            answered = transition
            if answered.file:
                # The report and the step that reads its number out share one commit.
                number = await self._store_report(
                    conn, row.call_sid, answered.gathered, "completed"
                )
                answered = self.flow.filed(answered.gathered, number)
            answer = self._render(answered, row.seq + 1)
            data = answered.gathered.to_json()
            if await voice_calls.advance_call(
                conn, row.call_sid, row.seq, answered.step, data, answer, now
            ):
                return answer
            # Another process answered this webhook first: say what it said.
            latest = await voice_calls.get_call(conn, row.call_sid)
            return latest.answer if latest is not None else answer

        answer = await self.writer.run(advance)
        if transition.file:
            self.on_filed()
        return answer

    async def _start(self, message: InboundMessage, step: CallStep, now: datetime) -> str:
        caller = message.sender if message.sender.startswith("+") else ""
        transition = self.flow.greeting(caller_known=bool(caller))
        answer = self._render(transition, 1)
        data = transition.gathered.to_json()

        async def start(conn: AsyncConnection) -> tuple[bool, str]:
            if await voice_calls.start_call(
                conn, step.call_id, caller, transition.step, data, answer, now
            ):
                return True, answer
            # A retry of the call's first webhook: the greeting it was given.
            row = await voice_calls.get_call(conn, step.call_id)
            return False, row.answer if row is not None else answer

        fresh, said = await self.writer.run(start)
        if not fresh:
            return said
        log.info("voice.call_started", extra={"call": step.call_id, "caller": mask_phone(caller)})
        return answer

    def _render(self, transition: Transition, seq: int) -> str:
        language = transition.gathered.language
        voice = Voice(
            language=language,
            voice=voices(self.voices, language),
            action=f"{self.route}?seq={seq}",
            callback=f"{self.route}?event=",
            max_recording_seconds=self.max_recording_seconds,
        )
        return render(transition.prompt, voice)

    async def _attach(self, step: CallStep, message: InboundMessage) -> None:
        """A recording or transcript kept on the call until its report is filed; after that the
        intake attaches it to the request (``gateway.intake.calls``)."""
        if step.event == "recording" and message.media:
            values = {"recording_url": message.media[0].url or ""}
        elif step.event == "transcription" and message.text:
            values = {"transcript": message.text}
        else:
            return
        now = datetime.now(UTC)

        async def attach(conn: AsyncConnection) -> None:
            await voice_calls.attach_to_call(conn, step.call_id, **values)
            await voice_calls.touch_call(conn, step.call_id, now)

        await self.writer.run(attach)

    async def hang_up(self, sid: str, outcome: str = "hangup") -> None:
        """The call is over: what it gathered is filed, flagged for review, unless it was."""
        async with self.engine.connect() as conn:
            row = await voice_calls.get_call(conn, sid)
        if row is None or row.filed_at is not None:
            return
        gathered = Gathered.from_json(row.data)
        if gathered.transferred_from:
            outcome, review = "transferred", TRANSFERRED
        else:
            review = STALE if outcome == "stale" else HUNG_UP
        if gathered.problem or gathered.service_code or gathered.place_text or row.recording_url:
            await self.file(sid, gathered, outcome, review=review)
            return
        # Nothing was said: there is no report to keep, only the call to close.
        now = datetime.now(UTC)
        await self.writer.run(lambda conn: voice_calls.mark_filed(conn, sid, "empty", "", now))

    async def sweep(self, now: datetime | None = None) -> int:
        """File every call whose webhooks stopped, as it is; returns how many."""
        now = now or datetime.now(UTC)
        async with self.engine.connect() as conn:
            stale = await voice_calls.stale_calls(conn, now - self.stale_after)
        for sid in stale:
            await self.hang_up(sid, "stale")
        return len(stale)

    async def file(self, sid: str, gathered: Gathered, outcome: str, *, review: str = "") -> str:
        """Store the call's report once; its tracking number."""

        async def store(conn: AsyncConnection) -> str:
            return await self._store_report(conn, sid, gathered, outcome, review=review)

        number = await self.writer.run(store)
        self.on_filed()
        return number

    async def _store_report(
        self, conn: AsyncConnection, sid: str, gathered: Gathered, outcome: str, *, review: str = ""
    ) -> str:
        """The call's report, stored in the caller's transaction unless it was; its number."""
        row = await voice_calls.get_call(conn, sid, lock=True)
        if row is None:
            raise LookupError(f"call {sid} is not open")
        if row.filed_at is not None and row.tracking_number:
            return row.tracking_number
        report = _report(row, gathered, review)
        raw = json.dumps(gathered.to_json()).encode()
        envelope = Envelope(CHANNEL, raw, {}, f"{self.route}#{sid}")
        [receipt] = await insert_messages(conn, envelope, [report], series=self.series)
        now = datetime.now(UTC)
        await voice_calls.mark_filed(conn, sid, outcome, receipt.tracking_number, now)
        log.info(
            "voice.call_filed",
            extra={"call": sid, "outcome": outcome, "tracking_number": receipt.tracking_number},
        )
        return receipt.tracking_number


def _report(row: CallRow, g: Gathered, review: str) -> InboundMessage:
    """The call as one report: what was said, chosen and recorded, and who called."""
    text = "\n\n".join(t for t in (g.problem, row.transcript or "") if t)
    media = (Media("audio/mpeg", url=row.recording_url),) if row.recording_url else ()
    declared = Declared(
        language=g.language,
        service_code=g.service_code,
        attributes=dict(g.attributes),
        anonymous=g.anonymous,
        text_copy=g.text_copy and not g.anonymous,
    )
    return InboundMessage(
        channel=CHANNEL,
        provider_id=row.call_sid,
        sender="" if g.anonymous else row.caller,
        text=text,
        media=media,
        location=g.location,
        declared=declared,
        review=review,
    )
