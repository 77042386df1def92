"""Keyword classifier: the catalog's keywords and synonyms in every language, typo-tolerant.

It serves cities with no request history and services the history lacks, and its hit counts
are features of the trained model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def keyword_hits(text: str, index: KeywordIndex) -> list[float]:
    """Per service, the summed weight of keyword phrases found (longer phrases weigh more)."""
    tokens = text_tokens(text)
    words = lookup_all(tokens, index._cache, partial(_keyword_word, index=index))
    hits = [0.0] * len(index.codes)
    # Most texts hold no keyword at all; this test runs in C.
    if index.phrases.keys().isdisjoint(words):
        return hits
    for start, word in enumerate(words):
        for phrase, service in index.phrases.get(word, ()):
            if tuple(words[start : start + len(phrase)]) == phrase:
                hits[service] += float(len(phrase))
    return hits


def keyword_scores(text: str, index: KeywordIndex) -> list[tuple[str, float]]:
    """Services ranked by keyword evidence as a probability-like score (empty when no hit)."""
    return scores_from_hits(keyword_hits(text, index), index)


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
