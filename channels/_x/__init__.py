"""What the X channel's two ways in share: how a post or a DM becomes an ``InboundMessage``.

``activity.py`` reads Account Activity webhook events (v1.1 Tweet objects, v1.1 DM events);
``pages.py`` reads the API v2 pages the worker polls, parsed by tweepy's own models. Both give
the same provider ids (the post id, the DM event id) and the same sender addresses, so a mention
seen both ways is one message.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.records import Location

# A resident's address on X: a DM conversation with their user id, or their public posts. The
# notifier answers ``dm:`` by direct message and ``post:`` by a public reply.
DM = "dm:"
POST = "post:"


def dm_address(user_id: str) -> str:
    return f"{DM}{user_id}"


def post_address(user_id: str) -> str:
    return f"{POST}{user_id}"


def cut(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` without the ``[start, end)`` spans (the city's @handle, a photo's t.co link),
    spaces tidied. X counts offsets in code points, as Python indexes a ``str``."""
    kept, at = [], 0
    for start, end in sorted(spans):
        if start < at or end > len(text) or start > end:
            continue
        kept.append(text[at:start])
        at = end
    kept.append(text[at:])
    return " ".join("".join(kept).split())


def point(long: object, lat: object) -> Location | None:
    """A provider's point, when both numbers are in range."""
    try:
        lat_f, long_f = float(lat), float(long)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (-90 <= lat_f <= 90 and -180 <= long_f <= 180):
        return None
    return Location(lat=lat_f, long=long_f, source="provider", confidence=1.0)


def geojson_point(geometry: object) -> Location | None:
    """A GeoJSON Point: ``coordinates`` are ``[long, lat]``."""
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) != 2:
        return None
    return point(coords[0], coords[1])


def legacy_geo(geo: object) -> Location | None:
    """v1.1's deprecated ``geo``: a Point whose ``coordinates`` are ``[lat, long]``."""
    if not isinstance(geo, dict) or geo.get("type") != "Point":
        return None
    coords = geo.get("coordinates")
    if not isinstance(coords, list) or len(coords) != 2:
        return None
    return point(coords[1], coords[0])


def place_point(name: str, place_type: str, box: Iterable[Iterable[float]]) -> Location | None:
    """A tagged place as a location: only a point of interest is small enough to find a
    pothole by (a city's box is not a place); its box's centre, named."""
    corners = [tuple(c) for c in box]
    if place_type != "poi" or not corners:
        return None
    longs, lats = [c[0] for c in corners], [c[1] for c in corners]
    found = point((min(longs) + max(longs)) / 2, (min(lats) + max(lats)) / 2)
    if found is None:
        return None
    return Location(found.lat, found.long, address=name or None, source="provider", confidence=0.6)
