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
from gateway.voice.flow import CallFlow
from gateway.voice.prompt import Voice, render, voices
from gateway.voice.state import Gathered, Heard, Transition

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
        if transition.file:
            won, answer = await self.writer.run(self._file_and_advance, (row, transition, now))
            self.on_filed()
        else:
            answer = self._render(transition, row.seq + 1)
            data = transition.gathered.to_json()
            advance = voice_calls.Advance(row.call_sid, row.seq, transition.step, data, answer, now)
            won = await self.writer.run(voice_calls.advance_calls, advance)
        if won:
            return answer
        # Another process (or an earlier copy of this webhook) answered first: say what it said.
        return await self._last_answer(row.call_sid, answer)

    async def _last_answer(self, sid: str, default: str) -> str:
        async with self.engine.connect() as conn:
            latest = await voice_calls.get_call(conn, sid)
        return latest.answer if latest is not None else default

    async def _file_and_advance(
        self, conn: AsyncConnection, items: list[tuple[CallRow, Transition, datetime]]
    ) -> list[tuple[bool, str]]:
        """The report and the step that reads its number out, in one commit."""
        results = []
        for row, transition, now in items:
            number = await self._store_report(conn, row.call_sid, transition.gathered, "completed")
            filed = self.flow.filed(transition.gathered, number)
            answer = self._render(filed, row.seq + 1)
            data = filed.gathered.to_json()
            advance = voice_calls.Advance(row.call_sid, row.seq, filed.step, data, answer, now)
            [won] = await voice_calls.advance_calls(conn, [advance])
            results.append((won, answer))
        return results

    async def _start(self, message: InboundMessage, step: CallStep, now: datetime) -> str:
        caller = message.sender if message.sender.startswith("+") else ""
        transition = self.flow.greeting(caller_known=bool(caller))
        answer = self._render(transition, 1)
        data = transition.gathered.to_json()
        call = voice_calls.NewCall(step.call_id, caller, transition.step, data, answer, now)
        if not await self.writer.run(voice_calls.start_calls, call):
            # A retry of the call's first webhook: the greeting it was given.
            return await self._last_answer(step.call_id, answer)
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
        await self.writer.run(_attach, (step.call_id, values, datetime.now(UTC)))

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
        await self.writer.run(_close_empty, (sid, datetime.now(UTC)))

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

        number = await self.writer.run(self._file_all, (sid, gathered, outcome, review))
        self.on_filed()
        return number

    async def _file_all(
        self, conn: AsyncConnection, items: list[tuple[str, Gathered, str, str]]
    ) -> list[str]:
        return [
            await self._store_report(conn, sid, gathered, outcome, review=review)
            for sid, gathered, outcome, review in items
        ]

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


async def _attach(
    conn: AsyncConnection, items: list[tuple[str, dict[str, str], datetime]]
) -> list[None]:
    for sid, values, now in items:
        await voice_calls.attach_to_call(conn, sid, **values)
        await voice_calls.touch_call(conn, sid, now)
    return [None] * len(items)


async def _close_empty(conn: AsyncConnection, items: list[tuple[str, datetime]]) -> list[bool]:
    return [await voice_calls.mark_filed(conn, sid, "empty", "", now) for sid, now in items]


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
