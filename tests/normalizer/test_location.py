"""Places in text and the offline gazetteer, on the Newport fixtures and history."""

from __future__ import annotations

import pytest

from normalizer.gazetteer import Gazetteer, build_gazetteer, gazetteer_from_json, gazetteer_to_json
from normalizer.geo import PlaceQuery, distance_m
from normalizer.location import StreetIndex, find_places
from normalizer.streets import parse_history_address, street_key
from tests.normalizer.conftest import newport_rows, twilio_form


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    rows = newport_rows()
    return build_gazetteer((r["address"], float(r["lat"]), float(r["long"])) for r in rows)


@pytest.mark.parametrize(
    ("name", "key"),
    [("Spring Street", "spring"), ("spring st.", "spring"), ("Mt. Vernon St.", "mount vernon"),
     ("Ochre Point Ave", "ochre point"), ("Corner of Thames", "thames")],
)  # fmt: skip
def test_street_key(name: str, key: str) -> None:
    assert street_key(name) == key


def test_history_intersection_address_is_parsed() -> None:
    parsed = parse_history_address("Powell Ave And Broadway Newport, Rhode Island", {"newport"})
    assert parsed is not None
    assert parsed.streets == ("powell", "broadway")


@pytest.mark.parametrize(
    ("fixture", "first"),
    [
        ("sms_inbound.form", PlaceQuery("spring", number=280)),
        ("sms_followup_location_reply.form", PlaceQuery("spring", cross_street="memorial")),
        ("sms_emoji_unicode.form", PlaceQuery("ann", number=30)),
        ("sms_spanish.form", PlaceQuery("hammond", number=10)),
        ("sms_typo_streetlight.form", PlaceQuery("thames", number=306)),
        ("whatsapp_text.form", PlaceQuery("harrison", number=34)),
    ],
)
def test_first_place_of_fixture(fixture: str, first: PlaceQuery, gazetteer: Gazetteer) -> None:
    text = twilio_form(fixture)["Body"]
    found = find_places(text, StreetIndex.of(gazetteer.street_keys()), gazetteer.places)
    assert (found[0].street, found[0].number, found[0].cross_street) == (
        first.street,
        first.number,
        first.cross_street,
    )


def test_without_gazetteer_a_street_type_marks_a_street() -> None:
    found = find_places("basura frente al 10 de Hammond St desde el lunes")
    assert found[0] == PlaceQuery("hammond", number=10, text=found[0].text)


def test_no_street_no_place(gazetteer: Gazetteer) -> None:
    text = twilio_form("sms_needs_location.form")["Body"]
    assert find_places(text, StreetIndex.of(gazetteer.street_keys()), gazetteer.places) == []


def test_numbered_address_is_placed_near_its_history_point(gazetteer: Gazetteer) -> None:
    found = gazetteer.resolve(PlaceQuery("spring", number=280))
    assert found is not None and found.lat is not None and found.long is not None
    assert distance_m(found.lat, found.long, 41.483207, -71.312674) < 150
    assert found.source == "text"


def test_long_street_alone_is_refused(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve(PlaceQuery("bellevue")) is None


def test_city_name_is_not_a_street(gazetteer: Gazetteer) -> None:
    text = "Thank you for keeping Newport clean"
    assert find_places(text, StreetIndex.of(gazetteer.street_keys()), gazetteer.places) == []


def test_json_round_trip(gazetteer: Gazetteer) -> None:
    again = gazetteer_from_json(gazetteer_to_json(gazetteer))
    assert again.resolve(PlaceQuery("spring", number=280)) == gazetteer.resolve(
        PlaceQuery("spring", number=280)
    )
