"""What must be known about a message before it is acknowledged, and costs next to nothing.

The resident's language (so the acknowledgement is in it), whether it describes an emergency (so
the answer tells them to call 911 at once), and whether it is a carrier or 311 command. Everything
else in the normalizer runs after the acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.records import InboundMessage
from normalizer.commands import Command, parse_command
from normalizer.emergency import detect_emergency
from normalizer.language import detect_language
from normalizer.normalize import NormalizerContext


@dataclass(frozen=True, slots=True)
class Triage:
    language: str
    emergency: bool = False
    command: Command | None = None


class Triager:
    """Triage with the normalizer's loaded language model and emergency phrases."""

    def __init__(self, context: NormalizerContext) -> None:
        self.context = context

    def __call__(self, message: InboundMessage) -> Triage:
        text = message.text
        command = parse_command(text)
        if command is not None:
            return Triage(language=detect_language(text, self.context.language), command=command)
        return Triage(
            language=detect_language(text, self.context.language),
            emergency=detect_emergency(text, self.context.emergency) is not None,
        )
