"""Offline geocoder built from the city's own history: street address points, intersections,
house-number interpolation along a street, short streets and learned landmarks. It refuses
when unsure: a wrong place sends a crew to the wrong street.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.records import Location
from normalizer.crossings import Segment, foot_point, gap_to_line, meeting_point, street_segments
from normalizer.geo import PlaceQuery, cell_of, distance_m, medoid, neighbour_cells
from normalizer.landmarks import learn_landmarks, tight_spot
from normalizer.location import StreetIndex
from normalizer.numbers import metres_per_number, place_number
from normalizer.streets import parse_history_address, place_names

GAZETTEER_VERSION = 2
# Two streets whose address points come this close are taken to cross there.
CROSSING_M = 90.0
# A street named without a number is answered only when all its points lie this close together.
SHORT_STREET_M = 150.0
SHORT_STREET_POINTS = 3
# A place the history's addresses name ("Perrotti Park") needs this many reports close together.
NAMED_PLACE_REPORTS = 2

Point = tuple[int | None, float, float]
Spot = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Address points by street key, intersections by street pair, names, and landmarks."""

    points: Mapping[str, tuple[Point, ...]]
    crossings: Mapping[frozenset[str], Spot]
    names: Mapping[str, str]
    # City names from the history's addresses: never a street when written bare ("Newport").
    places: frozenset[str] = frozenset()
    landmarks: Mapping[str, Spot] = field(default_factory=dict)
    _short: dict[str, Spot] = field(default_factory=dict, compare=False)
    _segments: dict[str, tuple[Segment, ...]] = field(default_factory=dict, compare=False)
    _met: dict[frozenset[str], Spot | None] = field(default_factory=dict, compare=False)
    _by_number: dict[str, tuple[list[tuple[int, float, float]], float]] = field(
        default_factory=dict, compare=False
    )

    def __post_init__(self) -> None:
        # Short streets, street lines and number spacing are found once here, not per message.
        for key, pts in self.points.items():
            spot = _short_spot(pts)
            if spot is not None:
                self._short[key] = spot
            self._segments[key] = street_segments(pts)
            numbered = sorted((n, lat, lon) for n, lat, lon in pts if n is not None and n > 0)
            if numbered:
                self._by_number[key] = (numbered, metres_per_number(numbered))

    def street_keys(self) -> frozenset[str]:
        """Every street the gazetteer knows, for finding street names in text."""
        return frozenset(self.points) | frozenset(k for pair in self.crossings for k in pair)

    def text_index(self) -> StreetIndex:
        """The index ``find_places`` reads texts with: streets and landmarks."""
        return StreetIndex.of(self.street_keys(), self.landmarks)

    async def geocode(self, query: PlaceQuery) -> Location | None:
        """The ``Geocoder`` protocol: an in-memory lookup."""
        return self.resolve(query)

    def resolve(self, query: PlaceQuery) -> Location | None:
        """Locate a query, or None when the history cannot place it within about a block."""
        if query.landmark:
            spot = self.landmarks.get(query.landmark)
            return _location(spot, query.landmark, 0.7) if spot else None
        if query.cross_street:
            return self._crossing(query.street, query.cross_street)
        if query.number is not None:
            return self._numbered(query.street, query.number)
        return self._short_street(query.street)

    def closest_m(self, query: PlaceQuery, lat: float, lon: float) -> float | None:
        """The nearest to a spot any reading of the query could land: the address points and
        traced lines of its streets, their known crossings, its landmark. An evaluation's
        ceiling (what a perfect guess along the named streets would score), not a geocode."""
        spot = (lat, lon)
        streets = {k for k in (query.street, query.cross_street) if k}
        gaps = [distance_m(p[1], p[2], *spot) for k in streets for p in self.points.get(k, ())]
        lines = (gap_to_line(self._segments.get(k, ()), spot) for k in streets)
        gaps += [gap for gap in lines if gap is not None]
        gaps += [distance_m(*at, *spot) for pair, at in self.crossings.items() if pair & streets]
        if query.landmark and query.landmark in self.landmarks:
            gaps.append(distance_m(*self.landmarks[query.landmark], *spot))
        return min(gaps, default=None)

    def _crossing(self, a: str, b: str) -> Location | None:
        pair = frozenset((a, b))
        spot = self.crossings.get(pair)
        if spot is None:
            if pair not in self._met:
                self._met[pair] = self._meeting(a, b)
            spot = self._met[pair]
        if spot is None:
            return None
        return _location(spot, f"{self.names.get(a, a)} & {self.names.get(b, b)}", 0.8)

    def _meeting(self, a: str, b: str) -> Spot | None:
        """Where the traced lines cross, else where the less known street's points meet the
        other's line: the street with fewer points is the side street."""
        line_a, line_b = self._segments.get(a, ()), self._segments.get(b, ())
        crossed = meeting_point(line_a, line_b)
        if crossed is not None:
            return crossed
        side, main = sorted((a, b), key=lambda k: len(self.points.get(k, ())))
        spots = [(p[1], p[2]) for p in self.points.get(side, ())]
        return foot_point(self._segments.get(main, ()), spots)

    def _numbered(self, street: str, number: int) -> Location | None:
        known = self._by_number.get(street)
        if known is None:
            # No numbered point to measure from: a short street is still one place.
            return self._short_street(street)
        spot = place_number(known[0], number, known[1])
        if spot is None:
            # The number lies beyond what the history knows of the street: the street's
            # middle would be a guess, so say nothing.
            return None
        return _location(spot, f"{number} {self.names.get(street, street)}", 0.75)

    def _short_street(self, street: str) -> Location | None:
        spot = self._short.get(street)
        return _location(spot, self.names.get(street, street), 0.5) if spot else None


def _short_spot(points: Iterable[Point]) -> Spot | None:
    """The medoid of a street whose points all lie within SHORT_STREET_M of it."""
    spots = [(p[1], p[2]) for p in points]
    if len(spots) < SHORT_STREET_POINTS:
        return None
    centre = medoid(spots[:50])
    far = max(distance_m(centre[0], centre[1], s[0], s[1]) for s in spots)
    return centre if far <= SHORT_STREET_M else None


def build_gazetteer(
    rows: Iterable[tuple[str, float, float]], texts: Iterable[tuple[str, float, float]] = ()
) -> Gazetteer:
    """Build from (address, lat, long) rows of the history, and landmarks from its
    (text, lat, long) rows when given."""
    rows = [r for r in rows if r[0].strip()]
    places = place_names(r[0] for r in rows)
    points: dict[str, list[Point]] = {}
    crossings: dict[frozenset[str], list[Spot]] = {}
    named: dict[str, list[Spot]] = {}
    names: dict[str, str] = {}
    for address, lat, lon in rows:
        parsed = parse_history_address(address, places)
        if parsed is None or any(_is_place(k, places) for k in parsed.streets):
            continue
        first = parsed.streets[0]
        if len(parsed.streets) == 1:
            points.setdefault(first, []).append((parsed.number, lat, lon))
            names.setdefault(first, parsed.display)
        if parsed.landmark:
            named.setdefault(first, []).append((lat, lon))
        # "Thames At Brown & Howard": the first street meets each of the others.
        for other in sorted(set(parsed.streets[1:]) - {first}):
            crossings.setdefault(frozenset((first, other)), []).append((lat, lon))
    merged = {k: medoid(v[:50]) for k, v in crossings.items()}
    for pair, spot in _geometric_crossings(points).items():
        merged.setdefault(pair, spot)
    landmarks = {**_named_places(named), **learn_landmarks(texts, excluded=places)}
    return Gazetteer(
        {k: tuple(v) for k, v in points.items()}, merged, names, frozenset(places), landmarks
    )


def _named_places(named: Mapping[str, list[Spot]]) -> dict[str, Spot]:
    """Places the addresses name, when their reports lie close together: a park is one spot,
    a long walk or beach road is not."""
    found: dict[str, Spot] = {}
    for key, spots in named.items():
        if len(spots) >= NAMED_PLACE_REPORTS:
            spot = tight_spot(spots, min_support=NAMED_PLACE_REPORTS, share=1.0)
            if spot is not None:
                found[key] = spot
    return found


def _is_place(key: str, places: Iterable[str]) -> bool:
    """A "street" that is the city's own name ("Newport", "Newport RI") is a parsing leftover."""
    return any(key == p or key.startswith(p + " ") for p in places)


def _geometric_crossings(points: Mapping[str, list[Point]]) -> dict[frozenset[str], Spot]:
    """Where two streets' address points nearly touch, the midpoint of the closest pair stands
    for the crossing. A grid finds the pairs without comparing every street with every other."""
    grid: dict[tuple[int, int], list[tuple[str, float, float]]] = {}
    for key, pts in points.items():
        for _, lat, lon in pts:
            grid.setdefault(cell_of(lat, lon, CROSSING_M), []).append((key, lat, lon))
    best: dict[frozenset[str], tuple[float, Spot]] = {}
    for cell, members in grid.items():
        near = [m for c in neighbour_cells(cell) for m in grid.get(c, ())]
        for (a, la, oa), (b, lb, ob) in itertools.product(members, near):
            if a >= b:
                continue
            gap = distance_m(la, oa, lb, ob)
            pair = frozenset((a, b))
            if gap <= CROSSING_M and gap < best.get(pair, (CROSSING_M + 1, (0.0, 0.0)))[0]:
                best[pair] = (gap, ((la + lb) / 2, (oa + ob) / 2))
    return {pair: spot for pair, (_, spot) in best.items()}


def _location(spot: Spot, address: str, confidence: float) -> Location:
    return Location(spot[0], spot[1], address=address, source="text", confidence=confidence)


def gazetteer_to_json(gazetteer: Gazetteer) -> dict[str, Any]:
    """A JSON-ready form for the gazetteer file."""
    return {
        "version": GAZETTEER_VERSION,
        "places": sorted(gazetteer.places),
        "streets": {
            k: {"name": gazetteer.names.get(k, k), "points": [list(p) for p in v]}
            for k, v in gazetteer.points.items()
        },
        "crossings": [
            [*sorted(pair), lat, lon] for pair, (lat, lon) in gazetteer.crossings.items()
        ],
        "landmarks": {k: list(v) for k, v in gazetteer.landmarks.items()},
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
    landmarks = {k: (float(v[0]), float(v[1])) for k, v in data.get("landmarks", {}).items()}
    return Gazetteer(points, crossings, names, frozenset(data.get("places", ())), landmarks)
