"""Residents read times in the city's time zone (``gateway.time_zone``); stored times stay UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gateway.web.i18n import local_time


def test_a_stored_utc_time_is_shown_in_the_city_zone() -> None:
    stored = datetime(2025, 10, 14, 2, 30, tzinfo=UTC)
    shown = local_time(stored, "%Y-%m-%d %H:%M %Z", ZoneInfo("America/New_York"))
    # 02:30 UTC is the evening before in Newport, on daylight time.
    assert shown == "2025-10-13 22:30 EDT"


def test_a_naive_stored_time_is_taken_as_utc() -> None:
    shown = local_time(datetime(2025, 1, 14, 12, 0), "%H:%M %Z", ZoneInfo("America/New_York"))
    assert shown == "07:00 EST"


def test_utc_stays_utc() -> None:
    stored = datetime(2025, 10, 14, 2, 30, tzinfo=UTC)
    assert local_time(stored, "%Y-%m-%d %H:%M %Z", ZoneInfo("UTC")) == "2025-10-14 02:30 UTC"
