"""Places named in a resident's text: "280 Spring St", "corner of Spring St and Memorial Blvd",
"in front of #30 Ann St", "frente al 10 de Hammond St", "at Easton's Beach". Known street names
and landmarks come from the gazetteer; without one, only a street-type word ("St") marks a street.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from normalizer.geo import PlaceQuery
from normalizer.landmarks import STOP_WORDS, landmark_index
from normalizer.streets import STREET_TYPES, street_key, text_words

Words = list[tuple[str, str]]
_NUMBER = re.compile(r"#?(\d+)(?:st|nd|rd|th)?$")
# Words that tie a number to a street that follows ("al 10 de Hammond St", "number 5 on").
_LINKS = {"de", "of", "on", "en", "block", "bloque"}
_NUMBER_WORDS = {"number", "no", "numero", "num", "near", "cerca", "del", "by", "at", "al"}
# Words joining two streets into an intersection ("Ruggles at Bellevue", "Bellevue X Church").
_JOINS = {"and", "at", "x", "y", "con", "esquina", "&", "corner", "of", "intersection", "with"}
_MARKS = frozenset(STREET_TYPES) | _JOINS
# A lone street-type word is too weak after these ("the street", "my street").
_CAP_IGNORE = STOP_WORDS | {"hola", "hi", "hello", "dead", "side", "main"}
# A misspelt street name must be this similar (0-100) to a known one, and this long.
FUZZY_SCORE = 88.0
FUZZY_MIN_LEN = 5
MIN_NAME_LEN = 3


@dataclass(frozen=True, slots=True)
class _Mention:
    """A street or landmark named in the text, the word positions it spans, how it was written:
    "typed" (followed by St/Ave), "proper" (capitalised mid-sentence), "weak" or "landmark"."""

    key: str
    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class StreetIndex:
    """Known street keys and landmark phrases as word tuples, by first word, longest first."""

    by_first: dict[str, tuple[tuple[str, ...], ...]]
    landmarks: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    # Multi-word names written as one word ("VanZandt") and every key, for misspellings.
    compact: dict[str, str] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    # Multi-word names by their initials ("RI Ave" for "Rhode Island Ave"), when unambiguous.
    initials: dict[str, str] = field(default_factory=dict)
    # Every word a known name can start with: other words are skipped without a look-up.
    starts: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        firsts = (*self.by_first, *self.landmarks, *self.compact, *self.initials)
        object.__setattr__(self, "starts", frozenset(firsts))

    @classmethod
    def of(
        cls, keys: Collection[str], landmarks: Mapping[str, tuple[float, float]] | None = None
    ) -> StreetIndex:
        """Index street keys ("ochre point") and landmarks for matching against text words."""
        grouped: dict[str, list[tuple[str, ...]]] = {}
        for key in keys:
            words = tuple(key.split())
            if words:
                grouped.setdefault(words[0], []).append(words)
        by_first = {k: tuple(sorted(v, key=len, reverse=True)) for k, v in grouped.items()}
        compact = {k.replace(" ", ""): k for k in keys if " " in k}
        index = landmark_index(landmarks or {})
        return cls(by_first, index, compact, tuple(sorted(keys)), _initials(keys))


def _initials(keys: Collection[str]) -> dict[str, str]:
    """Initials of multi-word keys, kept only where one key has them and no key is them."""
    found: dict[str, list[str]] = {}
    for key in keys:
        words = key.split()
        if len(words) > 1 and all(w.isalpha() for w in words):
            found.setdefault("".join(w[0] for w in words), []).append(key)
    return {k: v[0] for k, v in found.items() if len(v) == 1 and k not in keys}


EMPTY = StreetIndex({})


def find_places(
    text: str, streets: StreetIndex = EMPTY, places: Collection[str] = ()
) -> list[PlaceQuery]:
    """Place queries in the text, most precise first: address, crossing, landmark, street."""
    words = text_words(text)
    mentions = [m for m in _mentions(words, streets) if m.kind == "typed" or m.key not in places]
    roads = [m for m in mentions if m.kind != "landmark"]
    numbered = [
        PlaceQuery(m.key, number=n, text=text) for m in roads if (n := _number_near(words, m))
    ]
    crossings = [
        PlaceQuery(a.key, cross_street=b.key, text=text)
        for a, b in itertools.pairwise(roads)
        if a.key != b.key and _crossing(words, a, b)
    ]
    named = [PlaceQuery("", text=text, landmark=m.key) for m in mentions if m.kind == "landmark"]
    # A street given with a number the gazetteer cannot place is not better placed by its name.
    with_number = {q.street for q in numbered}
    plain = [
        PlaceQuery(m.key, text=text) for m in roads if m.kind != "weak" and m.key not in with_number
    ]
    return _known_first(_unique([*numbered, *crossings, *named, *plain]), streets)


def _known_first(queries: list[PlaceQuery], streets: StreetIndex) -> list[PlaceQuery]:
    """Queries on streets the gazetteer knows before guesses ("Failed street repair"): only the
    first few are looked up."""
    if not streets.keys:
        return queries
    known = set(streets.keys)
    return sorted(queries, key=lambda q: q.street not in known and not q.landmark)


def _crossing(words: Words, a: _Mention, b: _Mention) -> bool:
    """Two nearby streets make an intersection; a weakly written one needs a joining word."""
    if b.start - a.end > 3:
        return False
    if "weak" not in (a.kind, b.kind):
        return True
    # Two bare short words ("park at corner of kay") are too likely to be ordinary words.
    if a.kind == b.kind == "weak" and min(len(a.key), len(b.key)) < 4:
        return False
    return any(w in _JOINS for _, w in words[a.end : b.start])


def _mentions(words: Words, streets: StreetIndex) -> list[_Mention]:
    """Streets and landmarks named in the words, longest match first, left to right."""
    found: list[_Mention] = []
    end = 0
    for i in _cues([w for _, w in words], streets.starts):
        if i < end:
            continue
        mention = (
            _known_at(words, i, streets)
            or _typed_at(words, i, streets)
            or _landmark_at(words, i, streets)
            or _misspelt_at(words, i, streets)
        )
        if mention is not None:
            found.append(mention)
            end = mention.end
    return found


def _cues(folded: list[str], starts: frozenset[str]) -> list[int]:
    """Positions that can start a mention: a word that starts a known name, or one next to a
    street type or a joining word. Found with C-level set look-ups; most words are neither."""
    positions = range(len(folded))
    cues = set(itertools.compress(positions, map(starts.__contains__, folded)))
    for j in itertools.compress(positions, map(_MARKS.__contains__, folded)):
        cues.add(j - 1)
        if folded[j] in _JOINS:
            cues.add(j + 1)
    return sorted(c for c in cues if 0 <= c < len(folded))


def _known_at(words: Words, i: int, streets: StreetIndex) -> _Mention | None:
    """The longest gazetteer street starting at word i, with how it is written."""
    folded = words[i][1]
    if folded in streets.compact:
        return _written(words, i, 1, streets.compact[folded])
    for key_words in streets.by_first.get(folded, ()):
        size = len(key_words)
        if tuple(w for _, w in words[i + 1 : i + size]) != key_words[1:]:
            continue
        return _written(words, i, size, " ".join(key_words))
    return None


def _written(words: Words, i: int, size: int, key: str) -> _Mention | None:
    end = i + size
    if end < len(words) and words[end][1] in STREET_TYPES:
        return _Mention(key, i, end + 1, "typed")
    raw = words[i][0]
    # A bare name is a proper noun when capitalised inside a sentence (not shouted).
    if raw[:1].isupper() and not raw.isupper() and i > 0 and len(key) >= 4:
        return _Mention(key, i, end, "proper")
    # Short names ("Kay", "Elm") are common words too: only a joining word or a house number
    # next to them makes them streets.
    if len(key) >= MIN_NAME_LEN and key not in STOP_WORDS:
        return _Mention(key, i, end, "weak")
    return None


def _landmark_at(words: Words, i: int, streets: StreetIndex) -> _Mention | None:
    """The longest learned landmark phrase starting at word i."""
    for key_words in streets.landmarks.get(words[i][1], ()):
        size = len(key_words)
        if tuple(w for _, w in words[i : i + size]) == key_words:
            return _Mention(" ".join(key_words), i, i + size, "landmark")
    return None


def _typed_at(words: Words, i: int, streets: StreetIndex) -> _Mention | None:
    """A capitalised word followed by a street-type word ("Hammond St"), gazetteer or not;
    a misspelt known street ("Wellingon Ave") is read as that street."""
    if i + 1 >= len(words) or words[i + 1][1] not in STREET_TYPES:
        return None
    raw, folded = words[i]
    if not raw[:1].isupper() or folded in _CAP_IGNORE:
        return None
    if raw.isupper() and folded in streets.initials:
        return _Mention(streets.initials[folded], i, i + 2, "typed")
    key = street_key(folded)
    if streets.keys and len(key) >= FUZZY_MIN_LEN:
        best = process.extractOne(key, streets.keys, scorer=fuzz.ratio, score_cutoff=FUZZY_SCORE)
        key = best[0] if best else key
    return _Mention(key, i, i + 2, "typed")


def _misspelt_at(words: Words, i: int, streets: StreetIndex) -> _Mention | None:
    """A capitalised word next to a joining word that is a misspelt known street ("Powel and
    Broadway"); only joined words are tried, so the fuzzy search stays rare."""
    raw, folded = words[i]
    if not streets.keys or len(folded) < FUZZY_MIN_LEN or not raw[:1].isupper():
        return None
    joined = (i + 1 < len(words) and words[i + 1][1] in _JOINS) or (
        i > 0 and words[i - 1][1] in _JOINS
    )
    if not joined or folded in _CAP_IGNORE:
        return None
    best = process.extractOne(folded, streets.keys, scorer=fuzz.ratio, score_cutoff=FUZZY_SCORE)
    return _Mention(best[0], i, i + 1, "weak") if best else None


def _number_near(words: Words, mention: _Mention) -> int | None:
    """A house number just before the street, or after it ("Ann St near #30")."""
    before = words[max(0, mention.start - 3) : mention.start]
    for offset, (_, folded) in enumerate(reversed(before)):
        match = _NUMBER.match(folded)
        if match:
            return int(match.group(1))
        if folded not in _LINKS or offset > 1:
            break
    if mention.kind == "weak":
        return None
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
    seen: set[tuple[str, int | None, str | None, str | None]] = set()
    out: list[PlaceQuery] = []
    for q in queries:
        ident = (q.street, q.number, q.cross_street, q.landmark)
        if ident not in seen:
            seen.add(ident)
            out.append(q)
    return out
