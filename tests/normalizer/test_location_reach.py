"""How far the gazetteer stretches sparse history: long interpolation, side streets extended to
a corner, and the evaluation's ceiling (``closest_m``, ``eval-location``'s reachable line)."""

from __future__ import annotations

import subprocess
import sys

from normalizer.gazetteer import build_gazetteer
from normalizer.geo import PlaceQuery, distance_m
from tests.conftest import REPO_ROOT
from tests.normalizer.conftest import NEWPORT

LAT, LON = 41.48, -71.31
M_LAT = 1 / 111_320  # degrees of latitude per metre
M_LON = 1 / 83_380  # degrees of longitude per metre at 41.48 N


def _at(north_m: float, east_m: float) -> tuple[float, float]:
    return LAT + north_m * M_LAT, LON + east_m * M_LON


def _rows() -> list[tuple[str, float, float]]:
    """Main St runs north, numbers 2..82 every 100 m; Elm St is known by two houses 300-400 m
    east of Main St, the corner itself never reported."""
    main = [(f"{n} Main St Newport, RI", *_at(n * 10 - 20, 0.0)) for n in range(2, 90, 20)]
    elm = [(f"{n} Elm St Newport, RI", *_at(400.0, 300.0 + n)) for n in (10, 100)]
    return [*main, *elm]


def test_a_side_street_known_mid_block_is_extended_to_its_corner() -> None:
    gaz = build_gazetteer(_rows())
    found = gaz.resolve(PlaceQuery("elm", cross_street="main"))
    assert found is not None and found.lat is not None and found.long is not None
    assert distance_m(found.lat, found.long, *_at(400.0, 0.0)) < 20


def test_a_number_between_houses_800_m_apart_is_interpolated() -> None:
    gaz = build_gazetteer([("2 Oak St Newport, RI", *_at(0, 0)), ("82 Oak St", *_at(800, 0))])
    found = gaz.resolve(PlaceQuery("oak", number=42))
    assert found is not None and found.lat is not None and found.long is not None
    assert distance_m(found.lat, found.long, *_at(400, 0)) < 5


def test_closest_m_measures_to_the_traced_street_not_only_its_houses() -> None:
    gaz = build_gazetteer(_rows())
    # 30 m west of Main St halfway between two reported houses (each 50 m away along it).
    gap = gaz.closest_m(PlaceQuery("main"), *_at(250.0, -30.0))
    assert gap is not None and 29 < gap < 31
    assert gaz.closest_m(PlaceQuery("nowhere"), *_at(0, 0)) is None


def test_eval_location_prints_its_ceiling_above_the_scores() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "eval-location", "--history", str(NEWPORT)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    figures = dict(line.split(": ") for line in done.stdout.splitlines()[-4:])
    assert list(figures) == ["reachable_150m", "located", "precision_150m", "within_150m"]
    reachable, within = float(figures["reachable_150m"]), float(figures["within_150m"])
    # Nothing the reader finds can beat a perfect guess along the streets it found.
    assert 0 < within <= reachable <= 1
