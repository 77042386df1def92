"""Intersections, ordinals, landmarks and misspellings, on gazetteers built from Newport rows."""

from __future__ import annotations

import pytest

from normalizer.gazetteer import Gazetteer, build_gazetteer, gazetteer_from_json, gazetteer_to_json
from normalizer.geo import PlaceQuery, distance_m
from normalizer.landmarks import learn_landmarks
from normalizer.location import find_places
from normalizer.streets import street_key
from tests.normalizer.conftest import newport_rows, twilio_form


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    rows = [r for r in newport_rows() if r["lat"]]
    return build_gazetteer(
        ((r["address"], float(r["lat"]), float(r["long"])) for r in rows),
        ((r["text"], float(r["lat"]), float(r["long"])) for r in rows),
    )


def test_ordinal_street_names_share_a_key() -> None:
    assert street_key("Third Street") == street_key("3rd St") == "3rd"


def test_lowercase_streets_joined_by_at_are_a_crossing(gazetteer: Gazetteer) -> None:
    found = find_places("Ruggles at Bellevue - massive cracks", gazetteer.text_index())
    assert PlaceQuery("ruggles", cross_street="bellevue", text=found[0].text) in found


def test_lowercase_street_alone_is_not_a_place(gazetteer: Gazetteer) -> None:
    assert find_places("the leaves this spring are everywhere", gazetteer.text_index()) == []


def test_misspelt_typed_street_is_read_as_the_known_one(gazetteer: Gazetteer) -> None:
    found = find_places("pothole at 65 Wellingtn Ave", gazetteer.text_index())
    assert (found[0].street, found[0].number) == ("wellington", 65)


@pytest.mark.parametrize(
    ("fixture", "lat", "lon"),
    [
        ("sms_inbound.form", 41.483207, -71.312674),
        ("sms_followup_location_reply.form", 41.484383, -71.313048),
    ],
)
def test_fixture_is_located_within_150m(
    fixture: str, lat: float, lon: float, gazetteer: Gazetteer
) -> None:
    text = twilio_form(fixture)["Body"]
    queries = find_places(text, gazetteer.text_index(), gazetteer.places)
    found = next(loc for q in queries if (loc := gazetteer.resolve(q)) is not None)
    assert found.lat is not None and found.long is not None
    assert distance_m(found.lat, found.long, lat, lon) <= 150
    assert found.source == "text" and 0 < found.confidence <= 1


def test_traced_crossing_of_streets_never_named_together() -> None:
    # Parker Ave is known by one point; Bellevue by a line of numbered points.
    rows = [r for r in newport_rows() if r["lat"] and "Parker" not in r["text"]]
    gaz = build_gazetteer((r["address"], float(r["lat"]), float(r["long"])) for r in rows)
    assert frozenset(("bellevue", "parker")) not in gaz.crossings
    found = gaz.resolve(PlaceQuery("bellevue", cross_street="parker"))
    assert found is not None and found.lat is not None and found.long is not None
    assert distance_m(found.lat, found.long, 41.477314, -71.307931) <= 150


def test_a_phrase_used_all_over_the_city_is_no_landmark() -> None:
    rows = [(r["text"], float(r["lat"]), float(r["long"])) for r in newport_rows() if r["lat"]]
    landmarks = learn_landmarks(rows)
    assert "pothole" not in landmarks and "sidewalk" not in landmarks


def test_landmark_is_learned_from_named_reports_and_resolved() -> None:
    rows = [
        ("Trash all over Toppa Field again", 41.4871, -71.2936),
        ("The fence at Toppa Field is broken", 41.4872, -71.2937),
        ("Lights out near Toppa Field tonight", 41.4870, -71.2938),
        ("pothole on the road", 41.47, -71.31),
    ]
    gaz = build_gazetteer([("12 Parker Ave Newport, RI", 41.477314, -71.307931)], rows)
    found = find_places("graffiti on the toppa field bleachers", gaz.text_index())
    assert found == [PlaceQuery("", text=found[0].text, landmark="toppa field")]
    spot = gaz.resolve(found[0])
    assert spot is not None and spot.lat == pytest.approx(41.4871, abs=1e-3)


def test_json_round_trip_keeps_landmarks(gazetteer: Gazetteer) -> None:
    again = gazetteer_from_json(gazetteer_to_json(gazetteer))
    assert again.landmarks == gazetteer.landmarks
