"""Street names: the folded key a street is known by, and parsing a history address into one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

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
_SEPARATORS = re.compile(
    r"\s+(?:and|&|at|@|opp|opposite|between)\s+|/|&|\bintersection\s*$", re.IGNORECASE
)
_LEADING = {"corner", "of", "the", "intersection", "esquina", "de", "cornerof"}
# Words that only say the address is a corner ("Corner Of Gilroy & Harrison Ave").
_LEAD = re.compile(r"^(?:corner\s*of|corner|intersection(?:\s+of)?)\s+", re.IGNORECASE)
# A place name is a city when it is at least this share as common as the most common one.
_COMMON_PLACE = 0.05
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
    # A named place rather than a street ("Perrotti Park", "Cliff Walk").
    landmark: bool = False


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
    return [(m, _word_key(m)) for m in TEXT_WORD.findall(text)]


@lru_cache(maxsize=65536)
def _word_key(word: str) -> str:
    # Residents reuse a small vocabulary: one cached look-up per word instead of two folds.
    return canonical_word(fold_word(word))


def parse_history_address(address: str, places: Iterable[str]) -> ParsedAddress | None:
    """Street keys and number of one history address; city, state and zip are dropped."""
    head = _strip_place(_LEAD.sub("", address.split(",")[0].strip()), tuple(places))
    if not head:
        return None
    tagged, kind = _tag(head)
    if kind == "Street Address" and tagged.get("StreetName"):
        name = " ".join(
            tagged.get(k, "") for k in ("StreetNamePreType", "StreetName", "StreetNamePostType")
        ).strip()
        number = _number(tagged.get("AddressNumber", ""))
        if number is not None:
            return ParsedAddress((street_key(name),), number, name)
    parts = [q for p in _SEPARATORS.split(head) for q in _split_typed(p)]
    # A part starting with a bare number is a lot list ("1 2 and 3 Ella Terrace"), not a name.
    keys = tuple(k for k in (street_key(p) for p in parts) if k and not k.split()[0].isdigit())
    # usaddress calls parks, beaches and walks landmarks: places, not streets.
    typed = fold_word(head.split()[-1]).strip(".") in STREET_TYPES
    landmark = len(keys) == 1 and "LandmarkName" in tagged and not typed
    display = " & ".join(p.strip() for p in parts)
    return ParsedAddress(keys, None, display, landmark) if keys else None


def place_names(addresses: Iterable[str]) -> set[str]:
    """The city names the history's well-formed addresses carry, to strip them from the rest.
    A name must be common: usaddress sometimes files part of a street there ("Wharf Newport")."""
    counts: dict[str, int] = {}
    for address in addresses:
        tagged, kind = _tag(address)
        if kind == "Street Address" and tagged.get("PlaceName"):
            name = " ".join(tokens(tagged["PlaceName"]))
            counts[name] = counts.get(name, 0) + 1
    top = max(counts.values(), default=0)
    return {name for name, n in counts.items() if n >= max(2, top * _COMMON_PLACE)}


def _tag(address: str) -> tuple[dict[str, str], str]:
    try:
        tagged, kind = usaddress.tag(address)
    except usaddress.RepeatedLabelError:
        return {}, "Ambiguous"
    return dict(tagged), str(kind)


def _strip_place(head: str, places: tuple[str, ...]) -> str:
    """Cut the city and whatever follows it ("56 Marchant Newport Rhode Island" -> "56
    Marchant"); a city name that starts the address or precedes a street type is a street."""
    words = head.split()
    folded = [" ".join(tokens(w)) for w in words]
    for i in range(1, len(words)):
        for place in places:
            size = len(place.split())
            nxt = folded[i + size] if i + size < len(folded) else ""
            if " ".join(folded[i : i + size]) == place and nxt not in STREET_TYPES:
                return " ".join(words[:i])
    return head


def _split_typed(part: str) -> list[str]:
    """Two typed streets written without a joining word ("Harrison Ave Gilroy St")."""
    words = part.split()
    for i, word in enumerate(words[1:-2], start=1):
        if fold_word(word).strip(".") in STREET_TYPES and fold_word(words[-1]).strip(".") in (
            STREET_TYPES
        ):
            return [" ".join(words[: i + 1]), " ".join(words[i + 1 :])]
    return [part]


def _number(raw: str) -> int | None:
    """The first number of "45-55" or "280"; words like "One" are not used."""
    match = _RANGE.match(raw.strip())
    return int(match.group(1)) if match else None
