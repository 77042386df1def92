"""Street names: the folded key a street is known by, and parsing a history address into one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import usaddress

from normalizer.fold import fold_word, tokens

# USPS street suffix abbreviations (Publication 28, appendix C1), the common ones.
STREET_TYPES = {
    "street": "st", "st": "st", "str": "st", "avenue": "ave", "ave": "ave", "av": "ave",
    "road": "rd", "rd": "rd", "boulevard": "blvd", "blvd": "blvd", "drive": "dr", "dr": "dr",
    "lane": "ln", "ln": "ln", "court": "ct", "ct": "ct", "place": "pl", "pl": "pl",
    "terrace": "ter", "terr": "ter", "ter": "ter", "way": "way", "circle": "cir", "cir": "cir",
    "parkway": "pkwy", "pkwy": "pkwy", "highway": "hwy", "hwy": "hwy", "square": "sq",
    "sq": "sq", "wharf": "whf", "whf": "whf", "alley": "aly", "aly": "aly", "row": "row",
    "trail": "trl", "trl": "trl", "pike": "pike", "calle": "st", "avenida": "ave",
}  # fmt: skip
DIRECTIONS = {"n", "s", "e", "w", "north", "south", "east", "west"}
_SEPARATORS = re.compile(r"\s+(?:and|&|at|@)\s+|/|&", re.IGNORECASE)
_LEADING = {"corner", "of", "the", "intersection", "esquina", "de"}
_RANGE = re.compile(r"^(\d+)")
# Words of a resident's text: numbers ("#30", "2nd") and letters, apostrophes kept inside.
TEXT_WORD = re.compile(r"#?\d+[a-zA-Z]{0,2}|[^\W\d_]+(?:['\u2019][^\W\d_]+)?")
# Ordinal street names are written both ways ("Third St", "3rd St"); the key uses digits.
_ORDINALS = {
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """A history address reduced to street keys and a house number."""

    streets: tuple[str, ...]
    number: int | None
    display: str


def street_key(name: str) -> str:
    """The folded name without its suffix: "Spring Street" and "spring st." are both "spring"."""
    words = tokens(name.replace(".", " "))
    while len(words) > 1 and (words[-1] in STREET_TYPES or words[-1] in DIRECTIONS):
        words.pop()
    while len(words) > 1 and words[0] in _LEADING:
        words.pop(0)
    return " ".join(canonical_word(w) for w in words)


def canonical_word(word: str) -> str:
    """One folded word as keys spell it: "mt" is "mount", "third" is "3rd", no apostrophe."""
    if word == "mt":
        return "mount"
    if word == "ste":
        return "saint"
    # "Easton's" and "Eastons" are the same place; residents drop apostrophes.
    return _ORDINALS.get(word, word.replace("'", "").replace("\u2019", ""))


def text_words(text: str) -> list[tuple[str, str]]:
    """(as written, folded and canonical) for every word of a text."""
    return [(m, canonical_word(fold_word(m))) for m in TEXT_WORD.findall(text)]


def parse_history_address(address: str, places: Iterable[str]) -> ParsedAddress | None:
    """Street keys and number of one history address; city, state and zip are dropped."""
    head = address.split(",")[0].strip()
    if not head:
        return None
    try:
        tagged, kind = usaddress.tag(address)
    except usaddress.RepeatedLabelError:
        tagged, kind = {}, "Ambiguous"
    if kind == "Street Address" and tagged.get("StreetName"):
        name = " ".join(
            tagged.get(k, "") for k in ("StreetNamePreType", "StreetName", "StreetNamePostType")
        ).strip()
        number = _number(tagged.get("AddressNumber", ""))
        return ParsedAddress((street_key(name),), number, name)
    parts = [_drop_place(p, places) for p in _SEPARATORS.split(head)]
    keys = tuple(k for k in (street_key(p) for p in parts) if k and not k.isdigit())
    return ParsedAddress(keys, None, " & ".join(p.strip() for p in parts)) if keys else None


def place_names(addresses: Iterable[str]) -> set[str]:
    """The city names the history's well-formed addresses carry, to strip them from the rest."""
    names: set[str] = set()
    for address in addresses:
        try:
            tagged, kind = usaddress.tag(address)
        except usaddress.RepeatedLabelError:
            continue
        if kind == "Street Address" and tagged.get("PlaceName"):
            names.add(" ".join(tokens(tagged["PlaceName"])))
    return names


def _drop_place(part: str, places: Iterable[str]) -> str:
    """Remove a trailing city name ("Broadway Newport" -> "Broadway")."""
    folded = " ".join(tokens(part))
    for place in places:
        if folded.endswith(" " + place):
            return " ".join(part.split()[: -len(place.split())])
    return part


def _number(raw: str) -> int | None:
    """The first number of "45-55" or "280"; words like "One" are not used."""
    match = _RANGE.match(raw.strip())
    return int(match.group(1)) if match else None
