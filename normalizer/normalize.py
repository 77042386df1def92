"""The normalizer pipeline: one inbound message in, one ``NormalizedReport`` out.

Steps run in a fixed order (text, language, contact, emergency, category, location,
duplicates); every step is a plain function of its own module, and what they need is loaded
once into a ``NormalizerContext`` by ``gateway.config.normalizer``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.records import (
    Classification,
    Flags,
    InboundMessage,
    Location,
    NormalizedReport,
    OpenRequest,
    Service,
)
from normalizer.classify import Classifier, classify
from normalizer.contact import build_reporter
from normalizer.duplicates import find_duplicate
from normalizer.emergency import EmergencyPhrases, detect_emergency
from normalizer.geo import Geocoder
from normalizer.language import LanguageModel, detect_language
from normalizer.location import StreetIndex, find_places
from normalizer.text import clean_email_text, clean_text


@dataclass(frozen=True, slots=True)
class NormalizerContext:
    """Everything the pipeline needs, loaded once at start."""

    catalog: Sequence[Service]
    classifier: Classifier
    language: LanguageModel
    emergency: EmergencyPhrases
    geocoder: Geocoder | None
    streets: StreetIndex
    places: Collection[str]
    default_region: str
    email_channels: frozenset[str]
    duplicate_radius_m: float
    duplicate_window: timedelta
    max_places: int = 3


async def normalize(
    message: InboundMessage,
    ctx: NormalizerContext,
    *,
    open_requests: Sequence[OpenRequest] = (),
    now: datetime,
) -> NormalizedReport:
    """Understand one inbound message: who, what, where, how urgent, seen before."""
    original = message.text
    description = _clean(message, ctx)
    subject = message.subject or ""
    understood = f"{subject}\n{description}".strip() if subject else description
    # What the resident chose on a form outranks what the text suggests.
    language = _chosen_language(message, ctx) or detect_language(understood, ctx.language)
    classification = _chosen_service(message, ctx) or classify(understood, ctx.classifier)
    location = await _place(message, description, ctx)
    emergency = detect_emergency(understood, ctx.emergency) is not None
    duplicate = find_duplicate(
        classification.service_code,
        location,
        open_requests,
        now=now,
        radius_m=ctx.duplicate_radius_m,
        window=ctx.duplicate_window,
    )
    return NormalizedReport(
        description=description,
        original_text=original,
        reporter=build_reporter(message, language, ctx.default_region),
        classification=classification,
        location=location,
        flags=Flags(
            emergency=emergency,
            possible_duplicate_of=duplicate,
            needs_follow_up=_missing(
                classification.service_code, classification.low_confidence, location, ctx
            ),
        ),
        media=message.media,
    )


def _chosen_language(message: InboundMessage, ctx: NormalizerContext) -> str | None:
    chosen = message.declared.language
    return chosen if chosen in ctx.language.languages else None


def _chosen_service(message: InboundMessage, ctx: NormalizerContext) -> Classification | None:
    code = message.declared.service_code
    if not code or not any(service.code == code for service in ctx.catalog):
        return None
    return Classification(
        service_code=code, confidence=1.0, top=((code, 1.0),), low_confidence=False
    )


async def _place(
    message: InboundMessage, description: str, ctx: NormalizerContext
) -> Location | None:
    """Coordinates given; else the address the resident typed, geocoded; else the text."""
    given = message.location
    if given is not None and given.lat is not None:
        return given
    if given is not None and given.address:
        found = await locate(given.address, ctx)
        # Geocoded, the typed address keeps its wording; unplaced, it still goes to the city.
        return dataclasses.replace(found, address=given.address) if found else given
    return await locate(description, ctx)


async def locate(text: str, ctx: NormalizerContext) -> Location | None:
    """The first place named in the text that the geocoder can place confidently."""
    if ctx.geocoder is None:
        return None
    for query in find_places(text, ctx.streets, ctx.places)[: ctx.max_places]:
        found = await ctx.geocoder.geocode(query)
        if found is not None:
            return found
    return None


def _clean(message: InboundMessage, ctx: NormalizerContext) -> str:
    """Email bodies lose their quoted history and signature; every text is cleaned."""
    if message.channel in ctx.email_channels:
        return clean_email_text(message.text, ctx.language.languages)
    return clean_text(message.text)


def _missing(
    code: str | None, low_confidence: bool, location: Location | None, ctx: NormalizerContext
) -> tuple[str, ...]:
    """What a conversation still has to ask: the service, the place."""
    missing: list[str] = []
    if code is None or low_confidence:
        missing.append("service")
    service = next((s for s in ctx.catalog if s.code == code), None)
    needs_place = service.location_required if service is not None else True
    if needs_place and (location is None or location.lat is None):
        missing.append("location")
    return tuple(missing)
