"""Tracking numbers: series 0 is the old numbering exactly, and series never share a number."""

from __future__ import annotations

import pytest

from gateway.tracking import ALPHABET, MAX_SERIES, SERIES_SIZE, tracking_number_for

# Numbers handed out before series existed (the old scramble of the message id): they must
# read the same for ever, since residents and case systems hold them.
ISSUED_BEFORE_SERIES = {
    1: "4W3K74",
    2: "T4CF8V",
    3: "BUXD8J",
    4: "E2X92U",
    5: "RN8JAX",
    41: "LY98CG",
    1000: "HFRHTH",
    65535: "PC4QVU",
    123456: "2GAQ6C",
    SERIES_SIZE - 1: "B75T3N",
}


@pytest.mark.parametrize("serial", sorted(ISSUED_BEFORE_SERIES))
def test_series_zero_keeps_every_number_issued_before_series(serial: int) -> None:
    assert tracking_number_for(serial) == ISSUED_BEFORE_SERIES[serial]
    assert tracking_number_for(serial, 0) == ISSUED_BEFORE_SERIES[serial]


def test_the_same_ids_in_four_series_give_forty_thousand_distinct_numbers() -> None:
    numbers = [tracking_number_for(i, s) for s in range(4) for i in range(1, 10_001)]
    assert len(set(numbers)) == len(numbers) == 40_000
    assert all(set(n) <= set(ALPHABET) for n in numbers)


def test_lengths_stay_short_and_unambiguous() -> None:
    assert {len(tracking_number_for(i, 0)) for i in (1, SERIES_SIZE - 1)} == {6}
    assert {len(tracking_number_for(i, s)) for s in (1, 31) for i in (0, SERIES_SIZE - 1)} == {7}
    assert len(tracking_number_for(SERIES_SIZE - 1, MAX_SERIES)) == 8
    assert not set("0O1I") & set("".join(tracking_number_for(i, 5) for i in range(2000)))


def test_consecutive_ids_of_a_new_series_do_not_read_as_a_sequence() -> None:
    first, second = tracking_number_for(1, 1), tracking_number_for(2, 1)
    assert sum(a == b for a, b in zip(first, second, strict=True)) <= 3


def test_a_series_that_is_used_up_or_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="used up"):
        tracking_number_for(SERIES_SIZE, 0)
    with pytest.raises(ValueError, match="0 to 1023"):
        tracking_number_for(1, MAX_SERIES + 1)
    with pytest.raises(ValueError, match="0 to 1023"):
        tracking_number_for(1, -1)
