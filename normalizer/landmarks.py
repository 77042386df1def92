"""Named places learned from a city's own history: the park, beach, lot or school residents
keep naming. A phrase becomes a landmark when the reports that use it cluster tightly on the
map; a phrase used all over the city ("pothole", "sidewalk") never does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from normalizer.fold import fold_word
from normalizer.geo import cell_of, distance_m, medoid, neighbour_cells
from normalizer.streets import TEXT_WORD as _WORD
from normalizer.streets import canonical_word, text_words

# scikit-learn's English stop words (the Glasgow list), copied so that reading a text does not
# import scikit-learn, which takes seconds.
_GLASGOW = """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst amoungst amount an and another any anyhow anyone anything
    anyway anywhere are around as at back be became because become becomes becoming been
    before beforehand behind being below beside besides between beyond bill both bottom but by
    call can cannot cant co con could couldnt cry de describe detail do done down due during
    each eg eight either eleven else elsewhere empty enough etc even ever every everyone
    everything everywhere except few fifteen fifty fill find fire first five for former
    formerly forty found four from front full further get give go had has hasnt have he hence
    her here hereafter hereby herein hereupon hers herself him himself his how however hundred
    i ie if in inc indeed interest into is it its itself keep last latter latterly least less
    ltd made many may me meanwhile might mill mine more moreover most mostly move much must my
    myself name namely neither never nevertheless next nine no nobody none noone nor not
    nothing now nowhere of off often on once one only onto or other others otherwise our ours
    ourselves out over own part per perhaps please put rather re same see seem seemed seeming
    seems serious several she should show side since sincere six sixty so some somehow someone
    something sometime sometimes somewhere still such system take ten than that the their them
    themselves then thence there thereafter thereby therefore therein thereupon these they
    thick thin third this those though three through throughout thru thus to together too top
    toward towards twelve twenty two un under until up upon us very via was we well were what
    whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
    whether which while whither who whoever whole whom whose why will with within without
    would yet you your yours yourself yourselves
"""
ENGLISH_STOP_WORDS = frozenset(_GLASGOW.split())
MAX_WORDS = 4
# Reports naming the same place: most of them within this distance of the cluster's medoid.
TIGHT_M = 100.0
TIGHT_SHARE = 0.8
MIN_SUPPORT = 3
# Two texts sharing this share of their words this close together are one report filed twice.
REPEAT_M = 150.0
REPEAT_OVERLAP = 0.4
# A phrase may not start or end with a word that carries no place (English and Spanish).
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | {
    "el", "la", "los", "las", "un", "una", "de", "del", "al", "en", "y", "que", "por", "con",
    "para", "es", "esta", "hay", "st", "ave", "rd", "street", "avenue", "road", "please",
    "thank", "thanks", "newport",
}  # fmt: skip

Spot = tuple[float, float]


def learn_landmarks(
    rows: Iterable[tuple[str, float, float]], excluded: Iterable[str] = ()
) -> dict[str, Spot]:
    """Names of 1-4 words whose reports cluster tightly -> the cluster's medoid."""
    seen: dict[str, list[Spot]] = {}
    named: set[str] = set()
    for text, lat, lon in _distinct(rows):
        words = _marked_words(text)
        for gram, proper in _grams(words):
            seen.setdefault(gram, []).append((lat, lon))
            if proper:
                named.add(gram)
    skip = set(excluded)
    return {gram: spot for gram in named - skip if (spot := tight_spot(seen[gram])) is not None}


def _distinct(rows: Iterable[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Rows without repeats: the same report filed twice from one spot is one piece of evidence."""
    kept: list[tuple[str, float, float]] = []
    by_cell: dict[tuple[int, int], list[tuple[float, float, frozenset[str]]]] = {}
    for text, lat, lon in rows:
        words = frozenset(w for _, w in text_words(text))
        near = (r for c in neighbour_cells(cell_of(lat, lon, REPEAT_M)) for r in by_cell.get(c, ()))
        if any(
            distance_m(lat, lon, a, b) <= REPEAT_M and _overlap(words, other) >= REPEAT_OVERLAP
            for a, b, other in near
        ):
            continue
        by_cell.setdefault(cell_of(lat, lon, REPEAT_M), []).append((lat, lon, words))
        kept.append((text, lat, lon))
    return kept


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def _marked_words(text: str) -> list[tuple[str, bool]]:
    """Folded words, each marked when written like a name: capitalised inside a sentence."""
    marked: list[tuple[str, bool]] = []
    for match in _WORD.finditer(text):
        raw = match.group(0)
        before = text[: match.start()].rstrip()
        mid_sentence = bool(before) and before[-1] not in ".!?:;\n\"'(-"
        name_like = raw[:1].isupper() and not raw.isupper()
        marked.append(
            (canonical_word(fold_word(raw)), raw[:1].isdigit() or (name_like and mid_sentence))
        )
    return marked


def tight_spot(
    spots: list[Spot], min_support: int = MIN_SUPPORT, share: float = TIGHT_SHARE
) -> Spot | None:
    """The medoid of the spots when enough of them lie close to it, else None."""
    if len(spots) < min_support:
        return None
    centre = medoid(spots[:50])
    close = sum(distance_m(centre[0], centre[1], s[0], s[1]) <= TIGHT_M for s in spots)
    return centre if close / len(spots) >= share else None


def _grams(words: list[tuple[str, bool]]) -> Iterable[tuple[str, bool]]:
    """Word n-grams that neither start nor end with a stop word, each with whether every
    long word in it was written like a name ("Easton's Beach", not "the beach")."""
    for i, (first, _) in enumerate(words):
        if _weak(first) and not first.isdigit():
            continue
        for size in range(1, MAX_WORDS + 1):
            chunk = words[i : i + size]
            if len(chunk) < size:
                break
            if not _weak(chunk[-1][0]):
                proper = all(mark for w, mark in chunk if len(w) > 2 and w not in STOP_WORDS)
                yield " ".join(w for w, _ in chunk), proper


def _weak(word: str) -> bool:
    return word in STOP_WORDS or len(word) < 3 or word.lstrip("#").isdigit()


def landmark_index(landmarks: Mapping[str, Spot]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Landmark phrases as word tuples by first word, longest first, for matching text."""
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for key in landmarks:
        words = tuple(key.split())
        grouped.setdefault(words[0], []).append(words)
    return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in grouped.items()}
