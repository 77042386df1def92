"""What a call has heard and gathered, what the flow needs, and what it answers with."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.records import Classification, Location, Service
from gateway.voice.prompt import Prompt


@dataclass(frozen=True, slots=True)
class Heard:
    """What Twilio heard at our last prompt."""

    speech: str = ""
    digits: str = ""
    # After a transfer: how the call centre's leg ended (DialCallStatus).
    status: str = ""

    @property
    def nothing(self) -> bool:
        return not self.speech and not self.digits


@dataclass(frozen=True, slots=True)
class Gathered:
    """What the call has gathered so far; stored as JSON between webhooks."""

    language: str = "en"
    problem: str = ""
    emergency: bool = False
    guess: str = ""
    service_code: str = ""
    page: int = 0
    attributes: Mapping[str, str] = field(default_factory=dict)
    attribute: int = 0
    place_text: str = ""
    place: Mapping[str, Any] | None = None
    candidate: Mapping[str, Any] | None = None
    place_tries: int = 0
    tries: int = 0
    anonymous: bool = False
    text_copy: bool = False
    caller_known: bool = True
    # The step a caller left for the call centre ("" when never transferred).
    transferred_from: str = ""

    def to_json(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Gathered:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def location(self) -> Location | None:
        return Location(**self.place) if self.place else None


@dataclass(frozen=True, slots=True)
class Understanding:
    """The normalizer's and the config's parts the flow uses."""

    catalog: Sequence[Service]
    classify: Callable[[str], Classification]
    is_emergency: Callable[[str], bool]
    locate: Callable[[str], Awaitable[Location | None]]
    message: Callable[..., str]
    languages: tuple[str, ...]
    # None while the call centre answers; else what to say of its hours, in the language given.
    operator_closed: Callable[[str], str | None]
    operator_number: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    """The next step, what the call gathered, what it hears; ``file`` when the report is due."""

    step: str
    gathered: Gathered
    prompt: Prompt
    file: bool = False


def plain(value: Any) -> Any:
    """JSON-ready: a record becomes a dict, a mapping a plain dict."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value
