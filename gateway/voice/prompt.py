"""What the call hears next, and its TwiML, built with twilio's ``VoiceResponse`` (never by hand).

Verbs: https://www.twilio.com/docs/voice/twiml/gather (``input``, ``language``, ``hints``,
``speechTimeout``, ``actionOnEmptyResult``), https://www.twilio.com/docs/voice/twiml/record
(``recordingStatusCallback``, ``transcribe``, ``transcribeCallback``),
https://www.twilio.com/docs/voice/twiml/dial and https://www.twilio.com/docs/voice/twiml/say
(SSML ``<say-as>`` for Polly and Google voices).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, Say, VoiceResponse

# Twilio's speech recognition locales for the languages the flow speaks.
LOCALES = {"en": "en-US", "es": "es-US"}
# How long a caller has to start answering, in seconds.
GATHER_TIMEOUT = 6


@dataclass(frozen=True, slots=True)
class Prompt:
    """One answer of the flow: sentences, then at most one of gather, record, dial or hang up."""

    say: tuple[str, ...] = ()
    # "speech dtmf" or "dtmf"; None: no question.
    gather: str | None = None
    hints: tuple[str, ...] = ()
    digits: int | None = None
    # A tracking number to read slowly before the question.
    spell: str = ""
    # Said after the tracking number (the question that follows it).
    then: tuple[str, ...] = ()
    record: bool = False
    dial: str = ""
    hangup: bool = False


@dataclass(frozen=True, slots=True)
class Voice:
    """How the call sounds and where Twilio sends what it hears."""

    language: str
    voice: str
    action: str
    callback: str
    max_recording_seconds: int = 120

    @property
    def reads_ssml(self) -> bool:
        return self.voice.startswith(("Polly.", "Google."))


def render(prompt: Prompt, voice: Voice) -> str:
    """The TwiML document for ``prompt``."""
    response = VoiceResponse()
    locale = LOCALES.get(voice.language, "en-US")
    if prompt.gather is not None:
        gather = Gather(
            input=prompt.gather,
            action=voice.action,
            method="POST",
            language=locale,
            hints=", ".join(prompt.hints) or None,
            speech_timeout="auto",
            timeout=GATHER_TIMEOUT,
            num_digits=prompt.digits,
            action_on_empty_result=True,
        )
        _speak(gather, prompt, voice, locale)
        response.append(gather)
        return str(response)
    _speak(response, prompt, voice, locale)
    if prompt.record:
        response.record(
            action=voice.action,
            method="POST",
            timeout=5,
            finish_on_key="#",
            max_length=voice.max_recording_seconds,
            play_beep=True,
            recording_status_callback=f"{voice.callback}recording",
            recording_status_callback_method="POST",
            transcribe=True,
            transcribe_callback=f"{voice.callback}transcription",
        )
        # A caller who says nothing records nothing, and Twilio goes on to the next verb.
        response.redirect(voice.action, method="POST")
    elif prompt.dial:
        response.dial(prompt.dial, action=voice.action, method="POST")
    elif prompt.hangup:
        response.hangup()
    return str(response)


def _speak(verb: VoiceResponse | Gather, prompt: Prompt, voice: Voice, locale: str) -> None:
    for sentence in prompt.say:
        verb.say(sentence, voice=voice.voice, language=locale)
    if prompt.spell:
        say = Say(voice=voice.voice, language=locale)
        _spell(say, prompt.spell, voice)
        verb.append(say)
    for sentence in prompt.then:
        verb.say(sentence, voice=voice.voice, language=locale)


def _spell(say: Say, number: str, voice: Voice) -> None:
    """One character at a time, with a pause after each: SSML where the voice reads it."""
    if not voice.reads_ssml:
        say.value = ". ".join(number) + "."
        return
    for char in number:
        say.say_as(char, interpret_as="spell-out")
        say.break_(time="600ms")


def voices(options: Mapping[str, str], language: str) -> str:
    """The configured voice for ``language``; Twilio's default voice when none is."""
    return options.get(language) or options.get("en") or "woman"
