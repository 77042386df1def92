"""Geography shared by the location steps: distances, the place query, the Geocoder seam."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from gateway.records import Location

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True, slots=True)
class PlaceQuery:
    """A place named in a text: an address, an intersection, a street, or a landmark."""

    street: str
    number: int | None = None
    cross_street: str | None = None
    text: str = ""
    # A named place learned from the history ("eastons beach"); then ``street`` is empty.
    landmark: str | None = None

    def describe(self) -> str:
        """A free-text form for geocoders and staff: "280 Spring St", "Spring St & Brewer St"."""
        if self.landmark:
            return self.landmark
        if self.cross_street:
            return f"{self.street} & {self.cross_street}"
        return f"{self.number} {self.street}" if self.number is not None else self.street


class Geocoder(Protocol):
    """Turns a place query into coordinates, or None when it cannot say with confidence."""

    async def geocode(self, query: PlaceQuery) -> Location | None:
        """Locate the query."""
        ...


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def cell_of(lat: float, lon: float, size_m: float) -> tuple[int, int]:
    """A square grid cell about ``size_m`` wide, so neighbours are found without all pairs."""
    step = size_m / 111_320.0
    return int(lat // step), int(lon // (step / max(0.1, math.cos(math.radians(lat)))))


def neighbour_cells(cell: tuple[int, int]) -> list[tuple[int, int]]:
    """The cell and its eight neighbours."""
    return [(cell[0] + i, cell[1] + j) for i in (-1, 0, 1) for j in (-1, 0, 1)]


def medoid(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The point with the smallest summed distance to the others: a real spot, never a mean."""
    return min(points, key=lambda p: sum(distance_m(p[0], p[1], q[0], q[1]) for q in points))
