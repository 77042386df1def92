"""Round two of text geocoding: history addresses with the city inline, house numbers next to a
known one, initials, misspelt streets at a crossing and places the addresses name."""

from __future__ import annotations

import pytest

from normalizer.gazetteer import Gazetteer, build_gazetteer
from normalizer.geo import PlaceQuery, distance_m
from normalizer.location import find_places
from normalizer.numbers import place_number
from normalizer.streets import parse_history_address, place_names
from tests.normalizer.conftest import newport_rows, twilio_form


def _addresses(skip: str = "") -> Gazetteer:
    """A gazetteer from the Newport addresses only, as the evaluation builds it."""
    rows = [r for r in newport_rows() if r["lat"] and r["address"] and r["text"] != skip]
    return build_gazetteer((r["address"], float(r["lat"]), float(r["long"])) for r in rows)


def _locate(text: str, gaz: Gazetteer) -> tuple[float, float] | None:
    for query in find_places(text, gaz.text_index(), gaz.places)[:3]:
        found = gaz.resolve(query)
        if found is not None and found.lat is not None and found.long is not None:
            return found.lat, found.long
    return None


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return _addresses()


@pytest.mark.parametrize(
    ("address", "streets", "number"),
    [
        ("56 Marchant Newport Rhode Island", ("marchant",), 56),
        ("Intersection Harrison Ave Gilroy St Newport, Rhode Island", ("harrison", "gilroy"), None),
        ("Corner Of Gilroy & Harrison Ave Newport, Rhode Island", ("gilroy", "harrison"), None),
        ("Eustis Avenue/Ellery And Eustis/Kay Intersection", ("eustis", "ellery", "eustis", "kay"),
         None),
        ("33 Newport Ave Newport, RI 02840, USA", ("newport",), 33),
    ],
)  # fmt: skip
def test_city_written_inline_is_cut_from_the_street(
    address: str, streets: tuple[str, ...], number: int | None
) -> None:
    parsed = parse_history_address(address, {"newport"})
    assert parsed is not None
    assert (parsed.streets, parsed.number) == (streets, number)


def test_parks_are_named_places_and_typed_names_are_streets() -> None:
    park = parse_history_address(
        "Perrotti Park newport, ri 02840, NEWPORT, Rhode Island", {"newport"}
    )
    terrace = parse_history_address("Cliff Terrace Newport, Rhode Island", {"newport"})
    assert park is not None and park.landmark and park.streets == ("perrotti park",)
    assert terrace is not None and not terrace.landmark


def test_a_rarely_seen_place_name_is_not_the_city() -> None:
    assert "wharf newport" not in place_names(r["address"] for r in newport_rows())


def test_named_place_needs_close_reports() -> None:
    rows = [
        # Street addresses teach the gazetteer the city's name.
        ("22 Pope Street Newport, Rhode Island", 41.48100, -71.31400),
        ("18 Pope Street Newport, Rhode Island", 41.48110, -71.31420),
        ("Storer Park Newport, Rhode Island", 41.47870, -71.31590),
        ("Storer Park Newport, Rhode Island", 41.47880, -71.31600),
        ("Cliff Walk Newport, RI 02840, USA", 41.48440, -71.29900),
        ("Cliff Walk Newport, RI 02840, USA", 41.46500, -71.30100),
    ]
    gaz = build_gazetteer(rows)
    assert "storer park" in gaz.landmarks and "cliff walk" not in gaz.landmarks
    found = gaz.resolve(PlaceQuery("", landmark="storer park"))
    assert found is not None


STREET = [(10, 41.4800, -71.3100), (20, 41.4809, -71.3100)]


def test_number_next_to_one_known_number_is_placed_there() -> None:
    assert place_number([(12, 41.48, -71.31)], 16, 10.0) == (41.48, -71.31)


def test_number_far_from_every_known_number_is_refused() -> None:
    assert place_number([(12, 41.48, -71.31)], 66, 10.0) is None


def test_number_past_two_known_ones_follows_their_line() -> None:
    spot = place_number(STREET, 26, 10.0)
    assert spot is not None
    assert distance_m(spot[0], spot[1], 41.48144, -71.3100) < 5


def test_unplaceable_number_does_not_fall_back_to_the_street(gazetteer: Gazetteer) -> None:
    queries = find_places("blocked at 66 Middleton Ave", gazetteer.text_index(), gazetteer.places)
    assert [q.number for q in queries if q.street == "middleton"] == [66]


@pytest.mark.parametrize(
    ("fixture", "lat", "lon"),
    [
        ("sms_inbound.form", 41.483207, -71.312674),
        ("sms_followup_location_reply.form", 41.484383, -71.313048),
    ],
)
def test_fixture_is_located_from_addresses_alone(
    fixture: str, lat: float, lon: float, gazetteer: Gazetteer
) -> None:
    spot = _locate(twilio_form(fixture)["Body"], gazetteer)
    assert spot is not None and distance_m(spot[0], spot[1], lat, lon) <= 150


@pytest.mark.parametrize(
    "text",
    [
        "62 Ayrault. Hedges into sidewalk",
        "RECENT UTILITY CUT REPAIR ON RI AVE NEAR KAY ST. BELOW GRADE AND SINKING.",
        "Broken street gutter on corner of Spring/Perry",
    ],
)
def test_newport_text_is_located_within_150m(text: str) -> None:
    row = next(r for r in newport_rows() if r["text"] == text)
    spot = _locate(text, _addresses(skip=text))
    assert spot is not None
    assert distance_m(spot[0], spot[1], float(row["lat"]), float(row["long"])) <= 150


def test_initials_stand_for_a_multi_word_street(gazetteer: Gazetteer) -> None:
    found = find_places("cut repair on RI AVE near Kay St", gazetteer.text_index())
    assert found[0] == PlaceQuery("rhode island", cross_street="kay", text=found[0].text)


def test_misspelt_street_joined_to_a_known_one_is_a_crossing() -> None:
    gaz = build_gazetteer(
        [
            ("Powell Ave And Broadway Newport, Rhode Island", 41.497236, -71.307814),
            ("22 Pope Street Newport, Rhode Island", 41.48100, -71.31400),
            ("18 Pope Street Newport, Rhode Island", 41.48110, -71.31420),
        ]
    )
    text = "a crosswalk at the Powel and Broadway intersection"
    found = find_places(text, gaz.text_index())
    assert found[0] == PlaceQuery("powell", cross_street="broadway", text=text)
    assert gaz.resolve(found[0]) is not None


def test_two_bare_short_words_are_no_crossing(gazetteer: Gazetteer) -> None:
    found = find_places("fallen into the park at corner of kay", gazetteer.text_index())
    assert all(q.cross_street is None for q in found)
