"""Emergency detection: life-safety phrases per language, typo-tolerant, negation-aware.

Cheap and pure so the SMS channel can call it before its acknowledgement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from normalizer.fold import lookup_all, text_tokens, tokens

NEGATION_WINDOW = 3


@dataclass(frozen=True, slots=True)
class EmergencyHit:
    """The phrase that matched and its language."""

    phrase: str
    language: str


@dataclass(frozen=True, slots=True)
class EmergencyPhrases:
    """Compiled phrase lists: phrases by first word, ignored spans, negation words."""

    phrases: Mapping[str, tuple[tuple[tuple[str, ...], str, str], ...]]
    ignore: Mapping[str, tuple[tuple[str, ...], ...]]
    negations: frozenset[str]
    vocabulary: tuple[str, ...]
    _cache: dict[str, str] = field(default_factory=dict, compare=False)


def compile_phrases(table: Mapping[str, Mapping[str, Any]]) -> EmergencyPhrases:
    """Compile ``{language: {phrases, ignore, negations}}`` (the emergency.toml shape)."""
    phrases: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
    ignore: dict[str, list[tuple[str, ...]]] = {}
    negations: set[str] = set()
    for language, entry in table.items():
        for phrase in entry.get("phrases", ()):
            words = tuple(tokens(phrase))
            if words:
                phrases.setdefault(words[0], []).append((words, phrase, language))
        for phrase in entry.get("ignore", ()):
            words = tuple(tokens(phrase))
            if words:
                ignore.setdefault(words[0], []).append(words)
        negations.update(tokens(" ".join(entry.get("negations", ()))))
        negations.update(w for n in entry.get("negations", ()) for w in [n.lower()])
    # Typos are forgiven only inside multi-word phrases: a lone fuzzy word ("starting" for
    # "sparking") matches too much ordinary text.
    vocabulary = sorted({w for ps in phrases.values() for p, _, _ in ps if len(p) > 1 for w in p})
    return EmergencyPhrases(
        {k: tuple(v) for k, v in phrases.items()},
        {k: tuple(v) for k, v in ignore.items()},
        frozenset(negations),
        tuple(vocabulary),
    )


def detect_emergency(text: str, phrases: EmergencyPhrases) -> EmergencyHit | None:
    """The first emergency phrase in the text that is not ignored or negated, else None."""
    tokens = text_tokens(text)
    words = lookup_all(tokens, phrases._cache, partial(_canonical, phrases=phrases))
    # Nearly every report names no emergency phrase; this test runs in C.
    if phrases.phrases.keys().isdisjoint(words):
        return None
    skip = _ignored(words, phrases)
    for start, word in enumerate(words):
        if start in skip:
            continue
        for phrase, original, language in phrases.phrases.get(word, ()):
            end = start + len(phrase)
            if tuple(words[start:end]) != phrase or skip.intersection(range(start, end)):
                continue
            if not _negated(words, start, phrases.negations):
                return EmergencyHit(original, language)
    return None


def _ignored(words: list[str], phrases: EmergencyPhrases) -> set[int]:
    """Positions covered by an ordinary phrase such as "fire hydrant"."""
    covered: set[int] = set()
    for start, word in enumerate(words):
        for phrase in phrases.ignore.get(word, ()):
            if tuple(words[start : start + len(phrase)]) == phrase:
                covered.update(range(start, start + len(phrase)))
    return covered


def _negated(words: list[str], start: int, negations: frozenset[str]) -> bool:
    """A negation word shortly before the phrase cancels it ("there is no smell of gas")."""
    return any(w in negations for w in words[max(0, start - NEGATION_WINDOW) : start])


def _canonical(word: str, phrases: EmergencyPhrases) -> str:
    """The phrase word this word is meant to be, allowing one typo in words of five letters."""
    found = word
    if len(word) >= 5 and word not in phrases.phrases and word not in phrases.negations:
        match = process.extractOne(word, phrases.vocabulary, scorer=OSA.distance, score_cutoff=1)
        if match is not None and match[0][0] == word[0]:
            found = str(match[0])
    if len(phrases._cache) < 100_000:
        phrases._cache[word] = found
    return found
