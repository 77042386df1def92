"""The voice channel's desk, built from ``[channels.twilio_voice]`` and the normalizer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config.settings import Settings
from gateway.records import Location, Service
from gateway.rounds import repeat_rounds
from gateway.store.inbound import InboundWriter
from gateway.voice.desk import CallDesk
from gateway.voice.flow import CallFlow
from gateway.voice.hours import OpeningHours
from gateway.voice.state import Understanding
from normalizer.classify import classify
from normalizer.emergency import detect_emergency
from normalizer.normalize import NormalizerContext, locate

DEFAULT_VOICES = {"en": "Polly.Joanna", "es": "Polly.Lupe"}


def make_call_desk(
    engine: AsyncEngine,
    writer: InboundWriter,
    options: Mapping[str, Any],
    settings: Settings,
    catalog: Sequence[Service],
    context: Callable[[], NormalizerContext],
    *,
    route: str,
    series: int,
    on_filed: Callable[[], None],
) -> CallDesk:
    """The desk for the voice channel's ``options`` (``[channels.twilio_voice]``)."""
    hours = OpeningHours.parse(
        options.get("operator_days", ("mon", "tue", "wed", "thu", "fri")),
        options.get("operator_opens") or "08:00",
        options.get("operator_closes") or "17:00",
        settings.time_zone,
    )
    languages = tuple(options.get("languages") or ("en", "es"))
    number = str(options.get("operator_number") or "")

    def closed(language: str) -> str | None:
        if number and hours.is_open():
            return None
        return settings.message("voice_operator_closed", language, **hours.spoken(language))

    async def place(text: str) -> Location | None:
        return await locate(text, context())

    understanding = Understanding(
        catalog=catalog,
        classify=lambda text: classify(text, context().classifier),
        is_emergency=lambda text: detect_emergency(text, context().emergency) is not None,
        locate=place,
        message=lambda key, language, **values: settings.message(
            key, language, city=settings.city_name, **values
        ),
        languages=languages,
        operator_closed=closed,
        operator_number=number,
    )
    return CallDesk(
        engine,
        writer,
        CallFlow(understanding),
        route=route,
        voices={**DEFAULT_VOICES, **dict(options.get("voices") or {})},
        max_recording_seconds=int(options.get("max_recording_seconds") or 120),
        stale_after=timedelta(minutes=int(options.get("stale_call_minutes") or 30)),
        series=series,
        on_filed=on_filed,
    )


async def sweep_calls(desk: CallDesk, poll_seconds: float) -> None:
    """The worker's round: file every call gone silent, until cancelled."""
    # The worker role has no web server to start the writer that stores the calls' reports.
    await desk.writer.start()
    # A silent call is minutes old: a round every few polls is soon enough.
    await repeat_rounds(desk.sweep, asyncio.Event(), max(poll_seconds * 20, 5.0), "voice")
