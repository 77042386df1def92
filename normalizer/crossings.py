"""Where two streets meet, estimated from their address points when the history never names
the intersection: each street is the line through its address points in house-number order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

Spot = tuple[float, float]
Segment = tuple[Spot, Spot]
# Consecutive address points farther apart than this are not trusted to trace the street.
SEGMENT_M = 700.0
# Lines may be extended this far past their last known address point to meet: a city's history
# often knows a side street by two houses mid-block. (Checked on nine 80/20 splits of a real
# history: 150 m -> 400 m placed more corners without losing precision; farther gained nothing.)
REACH_M = 400.0
# A side street's address point this close to a traced street is taken to be near the corner.
NEAR_LINE_M = 120.0
_M_PER_DEG = 111_320.0


def street_segments(points: Iterable[tuple[int | None, float, float]]) -> tuple[Segment, ...]:
    """The street as segments between numbered points in number order, each side alone."""
    numbered = [(n, la, lo) for n, la, lo in points if n is not None]
    sides = [[p for p in numbered if p[0] % 2 == parity] for parity in (0, 1)]
    segments = [s for side in sides for s in _chain(side)]
    # With too few points on either side, both sides together still trace the street.
    return tuple(segments or _chain(numbered))


def _chain(points: list[tuple[int, float, float]]) -> list[Segment]:
    ordered = sorted(points)
    return [
        ((la1, lo1), (la2, lo2))
        for (_, la1, lo1), (_, la2, lo2) in itertools.pairwise(ordered)
        if 1.0 < _metres((la1, lo1), (la2, lo2)) <= SEGMENT_M
    ]


def foot_point(line: tuple[Segment, ...], spots: Iterable[Spot]) -> Spot | None:
    """A side street known only by a few points meets a traced street where the nearest of
    those points drops onto it, if that point is within NEAR_LINE_M of the line."""
    found = [_project(seg, spot) for spot in spots for seg in line]
    best = min(found, default=None)
    return best[1] if best is not None and best[0] <= NEAR_LINE_M else None


def gap_to_line(line: tuple[Segment, ...], spot: Spot) -> float | None:
    """Metres from a spot to the nearest point of a traced street, None for an untraced one."""
    return min((_project(seg, spot)[0] for seg in line), default=None)


def _project(seg: Segment, spot: Spot) -> tuple[float, Spot]:
    """The point of a segment nearest a spot, and how far the spot is from it."""
    lat0 = seg[0][0]
    a, b, p = _xy(seg[0], lat0), _xy(seg[1], lat0), _xy(spot, lat0)
    ab, ap = _sub(b, a), _sub(p, a)
    length2 = ab[0] ** 2 + ab[1] ** 2
    t = max(0.0, min(1.0, (ap[0] * ab[0] + ap[1] * ab[1]) / length2))
    x, y = a[0] + t * ab[0], a[1] + t * ab[1]
    return math.hypot(p[0] - x, p[1] - y), (y / _M_PER_DEG, x / (_M_PER_DEG * _cos(lat0)))


def meeting_point(a: tuple[Segment, ...], b: tuple[Segment, ...]) -> Spot | None:
    """Where a segment of one street, extended by REACH_M, crosses a segment of the other."""
    best: tuple[float, Spot] | None = None
    for s in a:
        for t in b:
            found = _intersect(s, t)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
    return best[1] if best else None


def _intersect(s: Segment, t: Segment) -> tuple[float, Spot] | None:
    """The crossing of two segments in a local flat frame, with how far it lies past their ends."""
    lat0 = s[0][0]
    p, r = _xy(s[0], lat0), _sub(_xy(s[1], lat0), _xy(s[0], lat0))
    q, u = _xy(t[0], lat0), _sub(_xy(t[1], lat0), _xy(t[0], lat0))
    denom = r[0] * u[1] - r[1] * u[0]
    len_r, len_u = math.hypot(*r), math.hypot(*u)
    # Nearly parallel streets do not meet at a well-defined point.
    if abs(denom) < 0.3 * len_r * len_u:
        return None
    qp = _sub(q, p)
    ts = (qp[0] * u[1] - qp[1] * u[0]) / denom
    tu = (qp[0] * r[1] - qp[1] * r[0]) / denom
    overshoot = max(_past(ts, len_r), _past(tu, len_u))
    if overshoot > REACH_M:
        return None
    x, y = p[0] + ts * r[0], p[1] + ts * r[1]
    return overshoot, (y / _M_PER_DEG, x / (_M_PER_DEG * _cos(lat0)))


def _past(t: float, length: float) -> float:
    """Metres beyond the segment's ends at parameter t (0 inside)."""
    return max(0.0, -t, t - 1.0) * length


def _xy(spot: Spot, lat0: float) -> Spot:
    return (spot[1] * _M_PER_DEG * _cos(lat0), spot[0] * _M_PER_DEG)


def _sub(a: Spot, b: Spot) -> Spot:
    return a[0] - b[0], a[1] - b[1]


def _cos(lat: float) -> float:
    return math.cos(math.radians(lat))


def _metres(a: Spot, b: Spot) -> float:
    lat0 = a[0]
    return math.hypot(*_sub(_xy(a, lat0), _xy(b, lat0)))
