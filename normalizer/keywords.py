"""Keyword classifier: the catalog's keywords and synonyms in every language, typo-tolerant.

It serves cities with no request history and services the history lacks, and its hit counts
are features of the trained model.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter

from rapidfuzz import process
from rapidfuzz.distance import OSA

from gateway.records import Service
from normalizer.fold import lookup_all, stem, text_tokens, tokens


@dataclass(frozen=True, slots=True)
class KeywordIndex:
    """Phrases by their first (stemmed) token, with the services each phrase points to."""

    codes: tuple[str, ...]
    phrases: dict[str, tuple[tuple[tuple[str, ...], int], ...]]
    vocabulary: tuple[str, ...]
    # Text token -> keyword token; texts repeat words, and fuzzy matching is slow.
    _cache: dict[str, str] = field(default_factory=dict, compare=False)


def build_keyword_index(catalog: Sequence[Service]) -> KeywordIndex:
    """Index every keyword, name and alias of every service in every language."""
    codes = tuple(s.code for s in catalog)
    by_first: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for index, service in enumerate(catalog):
        words = [w for ws in service.keywords.values() for w in ws]
        words += list(service.names.values())
        for phrase in {tuple(stem(t) for t in tokens(w)) for w in words}:
            if phrase:
                by_first.setdefault(phrase[0], []).append((phrase, index))
    vocab = sorted({t for ps in by_first.values() for p, _ in ps for t in p})
    return KeywordIndex(codes, {k: tuple(v) for k, v in by_first.items()}, tuple(vocab))


# Words that say where, not what: "the pothole by the traffic light" is a pothole, and a
# keyword right after them ("near the stop sign", "cerca del semaforo") counts for little.
_PLACE_CUES = frozenset(
    {
        ("at",), ("by",), ("near",), ("nearby",), ("beside",), ("behind",), ("opposite",),
        ("outside",), ("past",), ("on",), ("along",), ("across", "from"), ("next", "to"),
        ("close", "to"), ("in", "front", "of"), ("corner", "of"),
        ("cerca", "de"), ("cerca", "del"), ("junto", "a"), ("junto", "al"), ("frente", "a"),
        ("frente", "al"), ("enfrente", "de"), ("enfrente", "del"), ("lado", "de"),
        ("lado", "del"), ("detras", "de"), ("detras", "del"), ("afuera", "de"), ("en",),
        ("sobre",), ("por",),
    }
)  # fmt: skip
_CUE_ENDS = frozenset(cue[-1] for cue in _PLACE_CUES)
_DETERMINERS = frozenset(
    {"the", "a", "an", "this", "that", "my", "our", "el", "la", "los", "las", "un", "una"}
)
PLACE_WEIGHT = 0.25
# How many words after a cue name the place ("by the old fire hydrant").
PLACE_WORDS = 3


def keyword_hits(text: str, index: KeywordIndex) -> list[float]:
    """Per service, the summed weight of keyword phrases found (longer phrases weigh more):
    the trained model's features, which learn for themselves what a place word is worth."""
    hits = [0.0] * len(index.codes)
    for _, phrase, service in _matches(text_tokens(text), index):
        hits[service] += len(phrase)
    return hits


def weighed_hits(
    text: str, index: KeywordIndex, specificity: Mapping[tuple[str, ...], float]
) -> list[float]:
    """``keyword_hits`` weighed by what they say of the problem, for classifying by keywords
    alone: phrases naming where it is ("near the stop sign") and words shared by several
    services' phrases ("street") count less."""
    tokens = text_tokens(text)
    hits = [0.0] * len(index.codes)
    matches = _matches(tokens, index)
    places = _place_positions(tokens) if matches else set()
    for start, phrase, service in matches:
        weight = specificity.get(phrase, 1.0) * (PLACE_WEIGHT if start in places else 1.0)
        hits[service] += len(phrase) * weight
    return hits


def phrase_specificity(index: KeywordIndex) -> dict[tuple[str, ...], float]:
    """How much a one-word keyword says: "street" is a word of four services' phrases ("hole
    in the street", "street light", ...) and counts a quarter; "pothole" counts whole."""
    services: dict[str, set[int]] = {}
    for phrases in index.phrases.values():
        for phrase, service in phrases:
            for word in phrase:
                services.setdefault(word, set()).add(service)
    return {(word,): 1.0 / len(owners) for word, owners in services.items() if len(owners) > 1}


def _matches(tokens: Sequence[str], index: KeywordIndex) -> list[tuple[int, tuple[str, ...], int]]:
    """(position, phrase, service) of every keyword phrase in the tokens."""
    words = lookup_all(tokens, index._cache, partial(_keyword_word, index=index))
    # Most texts hold no keyword at all; this test runs in C.
    if index.phrases.keys().isdisjoint(words):
        return []
    return [
        (start, phrase, service)
        for start, word in enumerate(words)
        for phrase, service in index.phrases.get(word, ())
        if tuple(words[start : start + len(phrase)]) == phrase and not _is_cue_at(tokens, start)
    ]


def _place_positions(tokens: Sequence[str]) -> set[int]:
    """Positions of the few words after a place cue (and its determiners): where, not what."""
    places: set[int] = set()
    # Only words that can end a cue are looked at; the scan for them runs in C.
    for last in itertools.compress(range(len(tokens)), map(_CUE_ENDS.__contains__, tokens)):
        end = last + 1
        if any(tuple(tokens[end - n : end]) in _PLACE_CUES for n in (1, 2, 3) if end >= n):
            start = end
            while start < len(tokens) and tokens[start] in _DETERMINERS and start - end < 2:
                start += 1
            places.update(range(start, start + PLACE_WORDS))
    return places


def _is_cue_at(tokens: Sequence[str], start: int) -> bool:
    """A keyword that starts a place cue is not the keyword ("cerca del" is near, not fence)."""
    return any(tuple(tokens[start : start + n]) in _PLACE_CUES for n in (2, 3))


def keyword_scores(text: str, index: KeywordIndex) -> list[tuple[str, float]]:
    """Services ranked by keyword evidence as a probability-like score (empty when no hit)."""
    return scores_from_hits(weighed_hits(text, index, phrase_specificity(index)), index)


def scores_from_hits(hits: Sequence[float], index: KeywordIndex) -> list[tuple[str, float]]:
    """``keyword_scores`` from hits already counted."""
    weights = [(code, math.exp(h) - 1.0) for code, h in zip(index.codes, hits, strict=True) if h]
    total = sum(w for _, w in weights)
    return sorted(((code, w / total) for code, w in weights), key=itemgetter(1), reverse=True)


def _keyword_word(token: str, index: KeywordIndex) -> str:
    """The keyword token a text token stands for, allowing one typo in words of five letters."""
    word = stem(token)
    if word not in index.phrases and len(word) >= 5:
        word = _closest(word, index.vocabulary)
    if len(index._cache) < 100_000:
        index._cache[token] = word
    return word


def _closest(word: str, vocabulary: tuple[str, ...]) -> str:
    """A vocabulary word one edit away that starts with the same letter (typos rarely do not)."""
    limit = 1 if len(word) < 8 else 2
    match = process.extractOne(word, vocabulary, scorer=OSA.distance, score_cutoff=limit)
    if match is None or match[0][0] != word[0]:
        return word
    return str(match[0])
