"""Places named in a resident's text: "280 Spring St", "corner of Spring St and Memorial Blvd",
"in front of #30 Ann St", "frente al 10 de Hammond St". Known street names come from the
gazetteer; without one, only a street-type word ("St", "Ave") marks a street.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection
from dataclasses import dataclass

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from normalizer.fold import fold_word
from normalizer.geo import PlaceQuery
from normalizer.streets import STREET_TYPES, street_key

_WORD = re.compile(r"#?\d+[a-zA-Z]{0,2}|[^\W\d_]+(?:'[^\W\d_]+)?")
_NUMBER = re.compile(r"#?(\d+)(?:st|nd|rd|th)?$")
# Words that tie a number to a street that follows ("al 10 de Hammond St", "number 5 on").
_LINKS = {"de", "of", "on", "en", "block", "bloque"}
_NUMBER_WORDS = {"number", "no", "numero", "num", "near", "cerca", "del", "by", "at", "al"}
# A lone street-type word is too weak after these ("the street", "my street").
_CAP_IGNORE = frozenset(ENGLISH_STOP_WORDS) | {
    "la", "el", "los", "las", "una", "un", "esta", "este", "mi", "su", "hola", "hi", "hello",
    "dead", "side", "main street",
}  # fmt: skip
MAX_WORDS = 4


@dataclass(frozen=True, slots=True)
class _Mention:
    """A street named in the text, with the word positions it spans."""

    key: str
    start: int
    end: int
    typed: bool


@dataclass(frozen=True, slots=True)
class StreetIndex:
    """Known street keys as word tuples, by first word, longest first."""

    by_first: dict[str, tuple[tuple[str, ...], ...]]

    @classmethod
    def of(cls, keys: Collection[str]) -> StreetIndex:
        """Index street keys ("ochre point") for matching against text words."""
        grouped: dict[str, list[tuple[str, ...]]] = {}
        for key in keys:
            words = tuple(key.split())
            if words:
                grouped.setdefault(words[0], []).append(words)
        return cls({k: tuple(sorted(v, key=len, reverse=True)) for k, v in grouped.items()})


EMPTY = StreetIndex({})


def find_places(
    text: str, streets: StreetIndex = EMPTY, places: Collection[str] = ()
) -> list[PlaceQuery]:
    """Place queries found in the text, most precise first (numbered, crossing, street)."""
    words = [(m.group(0), fold_word(m.group(0))) for m in _WORD.finditer(text)]
    mentions = [m for m in _mentions(words, streets) if m.typed or m.key not in places]
    numbered = [
        PlaceQuery(m.key, number=n, text=text) for m in mentions if (n := _number_near(words, m))
    ]
    crossings = [
        PlaceQuery(a.key, cross_street=b.key, text=text)
        for a, b in itertools.pairwise(mentions)
        if a.key != b.key and b.start - a.end <= 3
    ]
    plain = [PlaceQuery(m.key, text=text) for m in mentions]
    return _unique([*numbered, *crossings, *plain])


def _mentions(words: list[tuple[str, str]], streets: StreetIndex) -> list[_Mention]:
    """Streets named in the words: a known street name, or capitalised words before a type."""
    found: list[_Mention] = []
    i = 0
    while i < len(words):
        mention = _known_at(words, i, streets) or _typed_at(words, i)
        if mention is None:
            i += 1
            continue
        found.append(mention)
        i = mention.end
    return found


def _known_at(words: list[tuple[str, str]], i: int, streets: StreetIndex) -> _Mention | None:
    """The longest gazetteer street starting at word i, if the text marks it as a street."""
    first = "mount" if words[i][1] == "mt" else words[i][1]
    for key_words in streets.by_first.get(first, ()):
        size = len(key_words)
        chunk = words[i : i + size]
        if tuple(w for _, w in chunk[1:]) != key_words[1:]:
            continue
        key = " ".join(key_words)
        end = i + size
        if end < len(words) and words[end][1] in STREET_TYPES:
            return _Mention(key, i, end + 1, True)
        # A bare name counts only when written as a proper noun, not at a sentence start.
        if chunk[0][0][:1].isupper() and i > 0 and len(key) >= 4:
            return _Mention(key, i, end, False)
        return None
    return None


def _typed_at(words: list[tuple[str, str]], i: int) -> _Mention | None:
    """Capitalised words followed by a street-type word ("Hammond St"), gazetteer or not."""
    for size in range(min(3, i + 1), 0, -1):
        start = i - size + 1
        if start < 0 or start != i:
            continue
        chunk = words[start : start + size]
        end = start + size
        if end >= len(words) or words[end][1] not in STREET_TYPES:
            continue
        if all(w[:1].isupper() for w, _ in chunk) and chunk[0][1] not in _CAP_IGNORE:
            return _Mention(street_key(" ".join(w for _, w in chunk)), start, end + 1, True)
    return None


def _number_near(words: list[tuple[str, str]], mention: _Mention) -> int | None:
    """A house number just before the street, or after it ("Ann St near #30")."""
    before = words[max(0, mention.start - 3) : mention.start]
    for offset, (_, folded) in enumerate(reversed(before)):
        match = _NUMBER.match(folded)
        if match:
            return int(match.group(1))
        if folded not in _LINKS or offset > 1:
            break
    after = words[mention.end : mention.end + 4]
    for raw, folded in after:
        match = _NUMBER.match(folded)
        if match and raw.startswith("#"):
            return int(match.group(1))
        if match and folded.isdigit():
            return int(match.group(1)) if _NUMBER_WORDS & {w for _, w in after} else None
        if folded not in _NUMBER_WORDS:
            break
    return None


def _unique(queries: list[PlaceQuery]) -> list[PlaceQuery]:
    seen: set[tuple[str, int | None, str | None]] = set()
    out: list[PlaceQuery] = []
    for q in queries:
        ident = (q.street, q.number, q.cross_street)
        if ident not in seen:
            seen.add(ident)
            out.append(q)
    return out
