"""When the call centre answers: its days and hours in the city's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_AND = {"en": "and", "es": "y"}


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Days (``"mon"``..``"sun"``) and the times the call centre opens and closes."""

    days: tuple[str, ...]
    opens: time
    closes: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, days: Sequence[str], opens: str, closes: str, zone: str) -> OpeningHours:
        return cls(
            tuple(days), time.fromisoformat(opens), time.fromisoformat(closes), ZoneInfo(zone)
        )

    def is_open(self, now: datetime | None = None) -> bool:
        """True while the call centre answers."""
        local = (now or datetime.now(UTC)).astimezone(self.zone)
        day = DAYS[local.weekday()]
        return day in self.days and self.opens <= local.time() < self.closes

    def spoken(self, language: str) -> dict[str, str]:
        """The hours as a prompt reads them: ``days``, ``opens``, ``closes``."""
        names = _DAY_NAMES.get(language, _DAY_NAMES["en"])
        days = [names[DAYS.index(d)] for d in DAYS if d in self.days]
        joined = (
            days[0]
            if len(days) == 1
            else f"{', '.join(days[:-1])} {_AND.get(language, 'and')} {days[-1]}"
        )
        return {
            "days": joined,
            "opens": self.opens.strftime("%H:%M"),
            "closes": self.closes.strftime("%H:%M"),
        }
