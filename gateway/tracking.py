"""Tracking numbers: short, readable over the phone, unambiguous (no 0/O, no 1/I), never reused.

A tracking number is a bijective scramble of a *virtual serial*: the database's tracking series
times 2^30 plus the inbound message's database id. One deployment gives every database it ever
uses a series of its own (``[tracking] series``, recorded in the database by
``gateway.store.series``), so a new database, whose ids start again at 1, can never hand out a
number an earlier one gave: their virtual serials differ, and the scramble is a bijection.

Series 0 is the numbering from before series existed, unchanged: six characters for the first
2^30 messages. Series 1 to 31 give seven characters, series 32 to 1023 eight. No collision check,
no retry, and consecutive reports do not read as a sequence.
"""

from __future__ import annotations

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: 5 bits each
_MULTIPLIER = 0x2E5BF271  # odd, so multiplication is a bijection modulo 2^bits
_OFFSET = 0x1B873593

# Each series holds this many message ids; the next series starts where it ends.
SERIES_SIZE = 1 << 30
# Eight characters at most: what STATUS commands and reply addresses accept.
MAX_SERIES = 1023


def tracking_number_for(serial: int, series: int = 0) -> str:
    """The tracking number of message ``serial`` (a database id) in tracking ``series``."""
    if serial < 0:
        raise ValueError("serial must not be negative")
    if not 0 <= series <= MAX_SERIES:
        raise ValueError(f"tracking series must be 0 to {MAX_SERIES}, not {series}")
    if serial >= SERIES_SIZE:
        raise ValueError(
            f"tracking series {series} is used up ({SERIES_SIZE} messages): "
            "give this deployment a new database with the next series"
        )
    return _scramble(series * SERIES_SIZE + serial)


def _scramble(value: int) -> str:
    """The bijective scramble of ``value``: 6 characters below 2^30, then one more per 5 bits."""
    chars = 6
    while value >= 1 << (5 * chars):
        chars += 1
    bits = 5 * chars
    mask = (1 << bits) - 1
    value = (value * _MULTIPLIER + _OFFSET) & mask
    value ^= value >> (bits // 2)
    value = (value * _MULTIPLIER) & mask
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(chars)))
