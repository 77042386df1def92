"""Offline geocoder built from the city's own address history: street address points,
intersections, and house-number interpolation along a street. It refuses when unsure.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from gateway.records import Location
from normalizer.geo import PlaceQuery, distance_m
from normalizer.streets import parse_history_address, place_names

GAZETTEER_VERSION = 1
# Two streets whose address points come this close are taken to cross there.
CROSSING_M = 90.0
# A street without a number is answered only when it is this short end to end.
SHORT_STREET_M = 220.0
# Interpolation is trusted only between address points this close together.
INTERPOLATE_SPAN_M = 400.0
NEAR_NUMBER = 12

Point = tuple[int | None, float, float]


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Address points by street key, intersections by street pair, and display names."""

    points: Mapping[str, tuple[Point, ...]]
    crossings: Mapping[frozenset[str], tuple[float, float]]
    names: Mapping[str, str]
    # City names from the history's addresses: never a street when written bare ("Newport").
    places: frozenset[str] = frozenset()
    _extents: dict[str, float] = field(default_factory=dict, compare=False)

    def street_keys(self) -> frozenset[str]:
        """Every street the gazetteer knows, for finding street names in text."""
        return frozenset(self.points) | frozenset(k for pair in self.crossings for k in pair)

    async def geocode(self, query: PlaceQuery) -> Location | None:
        """The ``Geocoder`` protocol: an in-memory lookup."""
        return self.resolve(query)

    def resolve(self, query: PlaceQuery) -> Location | None:
        """Locate a query, or None when the history cannot place it within about a block."""
        if query.cross_street:
            return self._crossing(query.street, query.cross_street)
        if query.number is not None:
            return self._numbered(query.street, query.number)
        return self._short_street(query.street)

    def _crossing(self, a: str, b: str) -> Location | None:
        spot = self.crossings.get(frozenset((a, b)))
        if spot is None:
            return None
        return _location(spot, f"{self.names.get(a, a)} & {self.names.get(b, b)}", 0.8)

    def _numbered(self, street: str, number: int) -> Location | None:
        numbered = sorted((n, lat, lon) for n, lat, lon in self.points.get(street, ()) if n)
        if not numbered:
            return self._short_street(street)
        address = f"{number} {self.names.get(street, street)}"
        below = [p for p in numbered if p[0] <= number]
        above = [p for p in numbered if p[0] >= number]
        if below and above:
            lo, hi = below[-1], above[0]
            if lo[0] == hi[0]:
                return _location((lo[1], lo[2]), address, 0.9)
            if distance_m(lo[1], lo[2], hi[1], hi[2]) <= INTERPOLATE_SPAN_M:
                t = (number - lo[0]) / (hi[0] - lo[0])
                spot = (lo[1] + t * (hi[1] - lo[1]), lo[2] + t * (hi[2] - lo[2]))
                return _location(spot, address, 0.75)
        nearest = min(numbered, key=lambda p: abs(p[0] - number))
        if abs(nearest[0] - number) <= NEAR_NUMBER:
            return _location((nearest[1], nearest[2]), address, 0.6)
        return self._short_street(street)

    def _short_street(self, street: str) -> Location | None:
        points = self.points.get(street, ())
        if len(points) < 3:
            return None
        if street not in self._extents:
            self._extents[street] = _extent(points)
        if self._extents[street] > SHORT_STREET_M:
            return None
        spot = (median(p[1] for p in points), median(p[2] for p in points))
        return _location(spot, self.names.get(street, street), 0.5)


def build_gazetteer(rows: Iterable[tuple[str, float, float]]) -> Gazetteer:
    """Build from (address, lat, long) rows of the history."""
    rows = [r for r in rows if r[0].strip()]
    places = place_names(r[0] for r in rows)
    points: dict[str, list[Point]] = {}
    crossings: dict[frozenset[str], list[tuple[float, float]]] = {}
    names: dict[str, str] = {}
    for address, lat, lon in rows:
        parsed = parse_history_address(address, places)
        if parsed is None or any(_is_place(k, places) for k in parsed.streets):
            continue
        if len(parsed.streets) == 1:
            points.setdefault(parsed.streets[0], []).append((parsed.number, lat, lon))
            names.setdefault(parsed.streets[0], parsed.display)
        for a, b in itertools.combinations(sorted(set(parsed.streets)), 2):
            crossings.setdefault(frozenset((a, b)), []).append((lat, lon))
    merged = {k: (median(p[0] for p in v), median(p[1] for p in v)) for k, v in crossings.items()}
    for pair, spot in _geometric_crossings(points).items():
        merged.setdefault(pair, spot)
    return Gazetteer({k: tuple(v) for k, v in points.items()}, merged, names, frozenset(places))


def _is_place(key: str, places: Iterable[str]) -> bool:
    """A "street" that is the city's own name ("Newport", "Newport RI") is a parsing leftover."""
    return any(key == p or key.startswith(p + " ") for p in places)


def _geometric_crossings(
    points: Mapping[str, list[Point]],
) -> dict[frozenset[str], tuple[float, float]]:
    """Where two streets' address points nearly touch, the midpoint stands for the crossing."""
    found: dict[frozenset[str], tuple[float, float]] = {}
    for a, b in itertools.combinations(sorted(points), 2):
        best = min(
            ((distance_m(p[1], p[2], q[1], q[2]), p, q) for p in points[a] for q in points[b]),
            key=lambda t: t[0],
        )
        if best[0] <= CROSSING_M:
            found[frozenset((a, b))] = (
                (best[1][1] + best[2][1]) / 2,
                (best[1][2] + best[2][2]) / 2,
            )
    return found


def _extent(points: Iterable[Point]) -> float:
    """The largest distance between two of the points."""
    pts = list(points)
    return max(distance_m(p[1], p[2], q[1], q[2]) for p, q in itertools.combinations(pts, 2))


def _location(spot: tuple[float, float], address: str, confidence: float) -> Location:
    return Location(spot[0], spot[1], address=address, source="gazetteer", confidence=confidence)


def gazetteer_to_json(gazetteer: Gazetteer) -> dict[str, Any]:
    """A JSON-ready form for the gazetteer file."""
    return {
        "version": GAZETTEER_VERSION,
        "streets": {
            k: {"name": gazetteer.names.get(k, k), "points": [list(p) for p in v]}
            for k, v in gazetteer.points.items()
        },
        "crossings": [
            [*sorted(pair), lat, lon] for pair, (lat, lon) in gazetteer.crossings.items()
        ],
    }


def gazetteer_from_json(data: Mapping[str, Any]) -> Gazetteer:
    """Read the form ``gazetteer_to_json`` wrote."""
    if data.get("version") != GAZETTEER_VERSION:
        raise ValueError(f"gazetteer version {data.get('version')!r} is not {GAZETTEER_VERSION}")
    streets = data["streets"]
    points = {
        k: tuple((p[0], float(p[1]), float(p[2])) for p in v["points"]) for k, v in streets.items()
    }
    crossings = {frozenset(c[:2]): (float(c[2]), float(c[3])) for c in data["crossings"]}
    names = {k: v["name"] for k, v in streets.items()}
    return Gazetteer(points, crossings, names, frozenset(data.get("places", ())))
