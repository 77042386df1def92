"""Possible duplicates: the same service, close by, reported recently and still open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from gateway.records import Location, OpenRequest
from normalizer.geo import distance_m


def find_duplicate(
    service_code: str | None,
    location: Location | None,
    open_requests: Sequence[OpenRequest],
    *,
    now: datetime,
    radius_m: float,
    window: timedelta,
) -> str | None:
    """The tracking number of the nearest matching open request, or None."""
    if service_code is None or location is None or location.lat is None or location.long is None:
        return None
    best: tuple[float, str] | None = None
    for request in open_requests:
        if request.service_code != service_code or now - request.received_at > window:
            continue
        gap = distance_m(location.lat, location.long, request.lat, request.long)
        if gap <= radius_m and (best is None or gap < best[0]):
            best = (gap, request.tracking_number)
    return best[1] if best else None
