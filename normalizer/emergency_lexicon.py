"""Emergency concept lexicons: per-language words and phrases, folded, stemmed, typo-tolerant.

An entry is a word or a phrase; a word ending in ``*`` is a prefix and one starting with ``=`` is
kept whole. Words are folded (no case, no accents) and lose a plural ``s``; a word that matches
nothing may be a one-letter typo of a lexicon word of five letters or more. What a word means
(its keys, the entries it can start, its concept bits) is computed once and remembered by the
caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter

from rapidfuzz.distance import OSA

from normalizer.fold import fold
from normalizer.landmarks import ENGLISH_STOP_WORDS

# Cue concepts steer the others rather than mean anything themselves; "known" lists ordinary
# words that must never be read as a typo of a lexicon word ("walking" is not "waking").
CUES = frozenset(
    {"negation", "modal", "modal_exempt", "past", "habitual", "hedge", "boundary", "object"}
    | {"known"}
)
# Never typo targets: a fuzzy "cant" or "thats" would turn an ordinary word into a negation.
NO_TYPOS = CUES | {"allclear"}
# Single words that matter only where they stand: kept as flags on a word, not as occurrences.
FLAGS = {"boundary": 1, "object": 2}
BOUNDARY, OBJECT = FLAGS["boundary"], FLAGS["object"]
TYPO_MIN_LENGTH = 5
LONG_WORD = 7
PREFIX_MIN_LENGTH = 3


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon entry: its keys in order, what it means, and which key it is filed under."""

    keys: tuple[str, ...]
    concept: str
    language: str
    anchor: int


# Compared by identity: ``lookup_all`` looks for None in a list of them, in C.
@dataclass(frozen=True, slots=True, eq=False)
class Meaning:
    """What one word can mean: its keys, the entries filed under them, and their concept bits."""

    keys: tuple[str, ...]
    content: tuple[Entry, ...]
    cues: tuple[Entry, ...]
    ignore: tuple[Entry, ...]
    bits: int
    flags: int


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Entries filed by their anchor key, plus what turns a word into keys."""

    entries: Mapping[str, tuple[Entry, ...]]
    ignore: Mapping[str, tuple[Entry, ...]]
    exact: frozenset[str]
    prefixes: Mapping[str, str]
    prefix_lengths: tuple[int, ...]
    typo_targets: Mapping[tuple[str, int], tuple[str, ...]]
    languages: tuple[str, ...]
    bits: Mapping[str, int]


def stem(word: str) -> str:
    """A plural or third-person ``s`` stripped: "flames", "houses", "crashes", "heridos"."""
    if len(word) < 4 or not word.isalpha() or word[-1] != "s":
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("shes", "sses", "xes", "zzes")) or (
        word.endswith("ches") and not word.endswith("aches")
    ):
        return word[:-2]
    # "gas", "bus", "this", "its", "yes": not plurals; "llamas" must be listed as "=llamas".
    if word[-2] in "sui" or (word[-2] in "aeo" and len(word) < 5):
        return word
    return word[:-1]


def compile_lexicon(
    table: Mapping[str, Mapping[str, Sequence[str]]],
    ignore: Mapping[str, Sequence[str]],
) -> Lexicon:
    """Compile ``{language: {concept: [entries]}}`` and ``{language: [ignored phrases]}``."""
    entries = [e for lang, concepts in table.items() for e in _entries(lang, concepts)]
    ignored = [e for lang, phrases in ignore.items() for e in _entries(lang, {"": phrases})]
    keys = {k for e in entries + ignored for k in e.keys}
    prefixes = {k[:-1]: k for k in keys if k.endswith("*")}
    return Lexicon(
        entries=_file(entries),
        ignore=_file(ignored),
        exact=frozenset(k for k in keys if not k.endswith("*")),
        prefixes=prefixes,
        prefix_lengths=tuple(sorted({len(p) for p in prefixes}, reverse=True)),
        typo_targets=_typo_targets(entries),
        languages=tuple(table),
        bits={c: 1 << i for i, c in enumerate(sorted({e.concept for e in entries}))},
    )


def meaning(word: str, lexicon: Lexicon) -> Meaning:
    """Everything a folded word can mean: computed once per word, remembered by the caller."""
    keys = word_keys(word, lexicon)
    # Every entry is filed under its anchor key, so a concept cannot occur without those bits.
    filed = [e for k in keys for e in lexicon.entries.get(k, ())]
    bits = flags = 0
    for entry in filed:
        bits |= lexicon.bits[entry.concept]
        flags |= FLAGS.get(entry.concept, 0)
    return Meaning(
        keys,
        tuple(e for e in filed if e.concept not in CUES),
        tuple(e for e in filed if e.concept in CUES and e.concept not in FLAGS),
        tuple(e for k in keys for e in lexicon.ignore.get(k, ())),
        bits,
        flags,
    )


def word_keys(word: str, lexicon: Lexicon) -> tuple[str, ...]:
    """The lexicon keys one folded word stands for: itself, prefixes it has, or a typo's fix."""
    if word.endswith("'s") and len(word) > 3:
        # "someone's" may be listed whole; "station's" is read as "station" (the caller drops a
        # person read from a possessive: "the kid's bike" is not a kid).
        own = [word] if word in lexicon.exact else []
        return (*own, *word_keys(word[:-2], lexicon))
    base = word if word in lexicon.exact else stem(word)
    keys = [base] if base in lexicon.exact else []
    keys.extend(
        lexicon.prefixes[word[:n]]
        for n in lexicon.prefix_lengths
        if len(word) >= n and word[:n] in lexicon.prefixes
    )
    if not keys and len(base) >= TYPO_MIN_LENGTH and base.isalpha():
        fix = typo_fix(base, lexicon.typo_targets.get((base[0], len(base)), ()))
        if fix is not None:
            keys.append(fix)
    return tuple(keys)


def typo_fix(word: str, candidates: Sequence[str]) -> str | None:
    """The lexicon word this one is a typo of: one letter added, dropped, swapped or mistyped.

    The first letter must agree, and a mistyped letter must be a key next to the right one, a
    sound-alike ("insendio") or a vowel, in a long word or beside another vowel ("breething");
    otherwise ordinary words would pass for others ("frame" for "flame", "tripped" for
    "trapped")."""
    for candidate in candidates:
        if OSA.distance(word, candidate, score_cutoff=1) <= 1 and _plausible(word, candidate):
            return candidate
    return None


def find_entries(meanings: Sequence[Meaning], kind: str) -> list[tuple[int, int, Entry]]:
    """Every ``(start, end, entry)`` of one kind ("content", "cues", "ignore") whose keys occur
    in order at ``meanings[start:end]``."""
    found: list[tuple[int, int, Entry]] = []
    filed = list(map(attrgetter(kind), meanings))
    # Most words start no entry: only those that do are visited, found in C.
    for i in compress(range(len(filed)), filed):
        for entry in filed[i]:
            if len(entry.keys) == 1:
                found.append((i, i + 1, entry))
                continue
            start = i - entry.anchor
            end = start + len(entry.keys)
            if start < 0 or end > len(meanings):
                continue
            if all(k in meanings[start + j].keys for j, k in enumerate(entry.keys)):
                found.append((start, end, entry))
    return found


def _plausible(word: str, target: str) -> bool:
    if len(word) != len(target):
        return True
    diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
    if len(diff) != 1:
        # Two letters swapped.
        return True
    i = diff[0]
    a, b = word[i], target[i]
    if b in _NEAR.get(a, "") or frozenset((a, b)) in _SOUNDS:
        return True
    if a not in _VOWELS or b not in _VOWELS:
        return False
    # A mistyped vowel: in a long word ("husbund"), or beside another vowel ("breething").
    beside = word[i - 1 : i] + word[i + 1 : i + 2]
    return len(word) >= LONG_WORD or any(c in _VOWELS for c in beside)


def _typo_targets(entries: Iterable[Entry]) -> dict[tuple[str, int], tuple[str, ...]]:
    """Typo targets by first letter and length: a typo adds, drops or changes one letter."""
    targets = {
        k
        for e in entries
        if e.concept not in NO_TYPOS
        for k in e.keys
        if len(k) >= TYPO_MIN_LENGTH and k.isalpha()
    }
    by_shape: dict[tuple[str, int], list[str]] = {}
    for word in sorted(targets):
        for length in (len(word) - 1, len(word), len(word) + 1):
            by_shape.setdefault((word[0], length), []).append(word)
    return {k: tuple(v) for k, v in by_shape.items()}


def _entries(language: str, concepts: Mapping[str, Sequence[str]]) -> Iterable[Entry]:
    for concept, phrases in concepts.items():
        for phrase in phrases:
            keys = tuple(_entry_key(w) for w in fold(phrase).replace("\u2019", "'").split())
            if len(keys) > 1 and concept in FLAGS:
                raise ValueError(f"{language}.concepts.{concept}: {phrase!r} must be one word")
            if keys:
                yield Entry(keys, concept, language, _anchor(keys))


def _entry_key(word: str) -> str:
    """``collaps*`` is a prefix, ``=llamas`` a form kept whole, any other word is stemmed."""
    word = word.strip('.,;:!?"()')
    if word.endswith("*") and len(word) > PREFIX_MIN_LENGTH:
        return word
    if word.startswith("="):
        return word[1:]
    return stem(word.rstrip("*"))


# Spanish function words, the counterpart of the English stop list: an entry is never filed
# under one of these, which nearly every message holds.
_SPANISH = """
    a al algo algun alguna alguno ante antes asi aun cada como con contra cual cuando de del
    desde donde dos el ella ellas ellos en entre era es esa ese eso esta estaba estan estas este
    esto estoy fue ha hace hay la las le les lo los mas me mi mis mucho muy nada ni no nos o otra
    otro para pero poco por porque que quien se sea ser si sin sobre son su sus tambien te tiene
    todo todos tu un una uno unos y ya yo
"""
_COMMON = ENGLISH_STOP_WORDS | frozenset(_SPANISH.split())


def _anchor(keys: tuple[str, ...]) -> int:
    """A word ordinary messages rarely hold (not a function word; the longest, as rarer words
    are longer), so that they reach the entry as seldom as can be."""
    return max(range(len(keys)), key=lambda i: (keys[i] not in _COMMON, len(keys[i]), i))


def _file(entries: Iterable[Entry]) -> dict[str, tuple[Entry, ...]]:
    filed: dict[str, list[Entry]] = {}
    for entry in entries:
        filed.setdefault(entry.keys[entry.anchor], []).append(entry)
    return {k: tuple(v) for k, v in filed.items()}


_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR = {
    ch: "".join(
        _ROWS[r2][c2]
        for r2 in range(max(0, r - 1), min(3, r + 2))
        for c2 in range(max(0, c - 1), c + 2)
        if c2 < len(_ROWS[r2]) and (r2, c2) != (r, c)
    )
    for r, row in enumerate(_ROWS)
    for c, ch in enumerate(row)
}
_SOUNDS = frozenset(frozenset(p) for p in ("cs", "ck", "sz", "bv", "iy", "gj", "kq", "cz", "mn"))
_VOWELS = frozenset("aeiou")
