"""Twilio Programmable Voice webhooks: an IVR call, step by step.

Request parameters: https://www.twilio.com/docs/usage/webhooks/voice-webhooks, ``<Gather>``
(``SpeechResult``, ``Digits``): https://www.twilio.com/docs/voice/twiml/gather, ``<Record>``
callbacks (``RecordingUrl``, ``TranscriptionText``): https://www.twilio.com/docs/voice/twiml/record.
Signed like every Twilio webhook (``TwilioSigned``). One route serves the call: the number's voice
URL (no query), our prompts' action URLs (``?seq=N``, the answer they respond to) and the
callbacks (``?event=status|recording|transcription``); the query is part of what Twilio signs.

Each webhook is one ``InboundMessage`` carrying a ``CallStep``, keyed so that a retry of the same
webhook is stored once. The answer (TwiML) is the call flow's (``gateway.voice``); this module
only verifies and parses.
"""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.voice_response import VoiceResponse

from channels import Ack, StoredMessage, WebhookRequest, register
from channels.twilio_sms import _SIGNED, TwilioSigned
from gateway.errors import MalformedPayload
from gateway.plugin import MapOf, Text, Texts, Whole, e164, table_keys
from gateway.records import CallStep, InboundMessage, Media

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = DAYS[:5]
EVENTS = ("answer", "status", "recording", "transcription")
# Provider details kept beside the step for staff.
_EXTRA_FIELDS = ("To", "CallerCity", "CallerState", "CallerZip", "Confidence", "StirVerstat")


def clock(value: str) -> str | None:
    """A time of day as ``HH:MM``."""
    hours, colon, minutes = value.partition(":")
    if colon and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60:
        return None
    return f"must be a time of day like '08:30', not {value!r}"


@register
class TwilioVoice(TwilioSigned):
    name = "twilio_voice"
    route = "/webhooks/twilio/voice"
    # The tracking number is read back on the call; a text copy goes by SMS when asked for.
    reply_via = "twilio_sms"
    confirms_in_ack = True
    media_fetcher = "twilio_media"
    answered_by = "call_flow"
    known_options = table_keys(
        **_SIGNED,
        # The city's 311 number, E.164, for the operator's reference.
        number=Text(shape=e164),
        # Offered in this order: the first is the default, the second is "press 2".
        languages=Texts(("en", "es"), item=Text(nonempty=True, choices=("en", "es"))),
        # The <Say> voice per language ("Polly.Joanna"); Polly and Google voices read SSML.
        voices=MapOf(Text(nonempty=True)),
        # "press 0 or say operator" dials this number during the hours below; empty: never.
        operator_number=Text(shape=e164),
        # Opening hours in gateway.time_zone: days as "mon".."sun", times as "HH:MM".
        operator_days=Texts(WEEKDAYS, item=Text(nonempty=True, choices=DAYS)),
        operator_opens=Text("08:00", nonempty=True, shape=clock),
        operator_closes=Text("17:00", nonempty=True, shape=clock),
        # The longest recorded description, in seconds.
        max_recording_seconds=Whole(120, minimum=5),
        # A call whose webhooks stop this long is filed as it is, flagged for staff.
        stale_call_minutes=Whole(30, minimum=1),
    )

    def parse(self, req: WebhookRequest) -> list[InboundMessage]:
        form = req.form
        sid = form.get("CallSid")
        if not sid:
            raise MalformedPayload("CallSid is missing")
        event = req.query.get("event", "answer")
        if event not in EVENTS:
            raise MalformedPayload(f"event {event!r} is not one of {EVENTS}")
        step, provider_id, text, media = _step(sid, event, req.query.get("seq", "0"), form)
        return [
            InboundMessage(
                channel=self.name,
                provider_id=provider_id,
                sender=form.get("From", ""),
                text=text,
                media=media,
                raw=req.body,
                call=step,
                extra={k: form[k] for k in _EXTRA_FIELDS if form.get(k)},
            )
        ]

    def acknowledge(self, req: WebhookRequest, stored: Sequence[StoredMessage]) -> Ack:
        """Only when no call flow answers: an empty document."""
        return Ack(str(VoiceResponse()), content_type="text/xml")


def _step(
    sid: str, event: str, seq_text: str, form: dict[str, str]
) -> tuple[CallStep, str, str, tuple[Media, ...]]:
    """The step, its provider id (one per distinct webhook), its words and its recording."""
    if not seq_text.isdigit():
        raise MalformedPayload("seq is not a number")
    seq = int(seq_text)
    if event == "recording":
        recording = form.get("RecordingSid", "")
        url = form.get("RecordingUrl", "")
        if not recording or not url:
            raise MalformedPayload("RecordingSid and RecordingUrl are required")
        status = form.get("RecordingStatus", "")
        # Without an extension Twilio serves WAV; the MP3 is a tenth of its size.
        media = (Media("audio/mpeg", url=f"{url}.mp3"),) if status == "completed" else ()
        step = CallStep(sid, event, seq, status=status)
        return step, f"{sid}:recording:{recording}:{status}", "", media
    if event == "transcription":
        transcription = form.get("TranscriptionSid", "")
        if not transcription:
            raise MalformedPayload("TranscriptionSid is required")
        status = form.get("TranscriptionStatus", "")
        text = form.get("TranscriptionText", "") if status == "completed" else ""
        step = CallStep(sid, event, seq, status=status)
        return step, f"{sid}:transcription:{transcription}", text, ()
    if event == "status":
        status = form.get("CallStatus", "")
        return CallStep(sid, event, seq, status=status), f"{sid}:status:{status}", "", ()
    status = form.get("DialCallStatus") or form.get("CallStatus", "")
    step = CallStep(sid, event, seq, digits=form.get("Digits", ""), status=status)
    return step, f"{sid}:answer:{seq}", form.get("SpeechResult", "").strip(), ()
