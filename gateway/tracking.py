"""Tracking numbers: short, readable over the phone, unambiguous (no 0/O, no 1/I), never reused.

A tracking number is a bijective scramble of the inbound message's database id, so it is unique
by construction (no collision check, no retry) and consecutive reports do not read as a sequence.
Six characters cover the first 2^30 messages; later ones get seven, and so on.
"""

from __future__ import annotations

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: 5 bits each
_MULTIPLIER = 0x2E5BF271  # odd, so multiplication is a bijection modulo 2^bits
_OFFSET = 0x1B873593


def tracking_number_for(serial: int) -> str:
    """The tracking number of the ``serial``-th message (a positive database id)."""
    if serial < 0:
        raise ValueError("serial must not be negative")
    chars = 6
    while serial >= 1 << (5 * chars):
        chars += 1
    bits = 5 * chars
    mask = (1 << bits) - 1
    value = (serial * _MULTIPLIER + _OFFSET) & mask
    value ^= value >> (bits // 2)
    value = (value * _MULTIPLIER) & mask
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(chars)))
