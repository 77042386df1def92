"""Emergency detection by meaning: concepts per language, combined by rules within a window.

The concepts (a hazard, a person, a state, water entering a home...) and the rules that combine
them live in ``config/emergency.toml``. Cheap and pure so the SMS channel can call it before its
acknowledgement: each word's meaning is remembered with its concept bits, so a message that
cannot satisfy any rule costs a few look-ups in C; the few others are read with their cues
(negations, hypotheticals, the past) and matched against the rules.
"""

from __future__ import annotations

import operator
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial, reduce
from typing import Any

from normalizer.emergency_lexicon import (
    BOUNDARY,
    OBJECT,
    Entry,
    Lexicon,
    Meaning,
    compile_lexicon,
    find_entries,
    meaning,
)
from normalizer.emergency_rules import DERIVED, Rule, match_rule, parse_rules
from normalizer.emergency_scope import Occurrence, resolve
from normalizer.fold import fold, lookup_all, text_tokens

CACHE_LIMIT = 100_000
LANGUAGE_KEYS = frozenset({"phrases", "ignore", "negations", "concepts"})
# A file without [rules] (the older phrase-list format) keeps its meaning: any phrase alone.
DEFAULT_RULES = {"phrase": {"all": ["phrase"]}}
# What a derived concept needs besides its source: a lost vital sign needs a negation.
NEEDS = {"vital_lost": "negation"}
# Before the cues are read, a concept stands in for what it may become.
DERIVED_FROM = {source: derived for derived, source in DERIVED.items()}
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.!?;:,()\n]")


@dataclass(frozen=True, slots=True)
class EmergencyHit:
    """The words that matched, their language and the rule they satisfied."""

    phrase: str
    language: str
    rule: str = ""


@dataclass(frozen=True, slots=True)
class EmergencyPhrases:
    """Compiled lexicons and rules, and what each word seen so far means."""

    lexicon: Lexicon
    rules: tuple[Rule, ...]
    # Per rule, its anchor's bits and the bits each of its parts needs (any one of them).
    needs: tuple[tuple[int, tuple[int, ...], Rule], ...]
    # The bits of every rule's anchor: a message with none of them is ordinary.
    anchors: int
    chronic: frozenset[str]
    _bits: dict[str, int] = field(default_factory=dict, compare=False)
    _meanings: dict[str, Meaning] = field(default_factory=dict, compare=False)


def compile_phrases(table: Mapping[str, Mapping[str, Any]]) -> EmergencyPhrases:
    """Compile the emergency.toml shape: ``[rules]`` and ``[<language>]`` with its concepts."""
    concepts: dict[str, dict[str, list[str]]] = {}
    ignore: dict[str, list[str]] = {}
    for language, entry in table.items():
        if language != "rules":
            concepts[language], ignore[language] = _language(language, entry)
    lexicon = compile_lexicon(concepts, ignore)
    known = {c for own in concepts.values() for c in own}
    rules = parse_rules(table.get("rules", DEFAULT_RULES), known)
    needs = tuple((_bits_of(r.anchor, lexicon.bits), _needs(r, lexicon.bits), r) for r in rules)
    anchors = reduce(operator.or_, (anchor for anchor, _, _ in needs), 0)
    chronic = frozenset(c for r in rules if r.chronic for part in r.parts for c in part)
    return EmergencyPhrases(lexicon, rules, needs, anchors, chronic)


def detect_emergency(text: str, phrases: EmergencyPhrases) -> EmergencyHit | None:
    """The first rule the text satisfies, as the words that matched, else None."""
    words = text_tokens(text)
    try:
        present = reduce(operator.or_, map(phrases._bits.__getitem__, words), 0)
    except KeyError:
        # A word not seen before: learn its meaning once (bounded), then read it as the others.
        bits = lookup_all(words, phrases._bits, partial(_bits_of_word, phrases=phrases))
        present = reduce(operator.or_, bits, 0)
    # Nearly every report stops here, after look-ups that run in C.
    if not present & phrases.anchors:
        return None
    rules = [
        rule
        for anchor, needs, rule in phrases.needs
        if present & anchor and all(present & need for need in needs)
    ]
    if not rules:
        return None
    meanings = lookup_all(words, phrases._meanings, partial(_meaning, phrases=phrases))
    content = _occurrences(find_entries(meanings, "content"), words)
    # Cues only take away (a lost vital sign stands where the vital sign is), so a rule that
    # the bare concepts cannot satisfy is out before the cues are read.
    bare = _by_concept(content, alias=DERIVED_FROM)
    rules = [r for r in rules if match_rule(r, bare, {})]
    return _read(text, words, meanings, content, rules, phrases) if rules else None


def _read(
    text: str,
    words: Sequence[str],
    meanings: Sequence[Meaning],
    content: list[Occurrence],
    rules: Sequence[Rule],
    phrases: EmergencyPhrases,
) -> EmergencyHit | None:
    """Let the cues cancel what they scope, then try each rule in turn."""
    ignored = {p for s, e, _ in find_entries(meanings, "ignore") for p in range(s, e)}
    found = [o for o in content if ignored.isdisjoint(range(o.start, o.end))]
    found += _occurrences(find_entries(meanings, "cues"), words)
    flags = [m.flags for m in meanings]
    ends = _stops(text) | {i for i, f in enumerate(flags) if f & BOUNDARY}
    objects = {i for i, f in enumerate(flags) if f & OBJECT}
    alive = _by_concept(resolve(found, ends, objects, phrases.chronic))
    everything = _by_concept(found)
    for rule in rules:
        matched = match_rule(rule, alive, everything)
        if matched:
            return _hit(rule, matched, words, phrases.lexicon.languages)
    return None


def _stops(text: str) -> set[int]:
    """The words that punctuation comes right before, counted as ``text_tokens`` counts words."""
    stops: set[int] = set()
    count = 0
    for token in _TOKEN.findall(fold(text).replace("\u2019", "'")):
        if token[0].isalnum():
            count += 1
        else:
            stops.add(count)
    return stops


def _by_concept(
    occurrences: list[Occurrence], alias: Mapping[str, str] | None = None
) -> dict[str, list[Occurrence]]:
    grouped: defaultdict[str, list[Occurrence]] = defaultdict(list)
    for occurrence in occurrences:
        grouped[occurrence.concept].append(occurrence)
        if alias and occurrence.concept in alias:
            grouped[alias[occurrence.concept]].append(occurrence)
    return grouped


def _occurrences(found: list[tuple[int, int, Entry]], tokens: Sequence[str]) -> list[Occurrence]:
    """One occurrence per span and concept, in every language that lists it.

    A person read from a possessive is left out ("the kid's bike" is not a kid)."""
    languages: dict[tuple[int, int, str], set[str]] = {}
    for start, end, entry in found:
        if entry.concept == "person" and _possessed(tokens[end - 1], entry.keys[-1]):
            continue
        languages.setdefault((start, end, entry.concept), set()).add(entry.language)
    return [Occurrence(s, e, c, frozenset(langs)) for (s, e, c), langs in languages.items()]


def _possessed(token: str, key: str) -> bool:
    return token.endswith("'s") and not key.endswith("'s")


def _hit(
    rule: Rule, matched: Sequence[Occurrence], words: Sequence[str], order: Sequence[str]
) -> EmergencyHit:
    low, high = min(o.start for o in matched), max(o.end for o in matched)
    votes = Counter(lang for o in matched for lang in o.languages)
    language = max(order, key=lambda lang: (votes[lang], -order.index(lang)))
    return EmergencyHit(" ".join(words[low:high]), language, rule.name)


def _meaning(word: str, phrases: EmergencyPhrases) -> Meaning:
    """What a word means, remembered up to a bound."""
    found = phrases._meanings.get(word)
    if found is None:
        found = meaning(word, phrases.lexicon)
        if len(phrases._meanings) < CACHE_LIMIT:
            phrases._meanings[word] = found
    return found


def _bits_of_word(word: str, phrases: EmergencyPhrases) -> int:
    """A word's concept bits, remembered (up to a bound) with the rest of its meaning."""
    bits = _meaning(word, phrases).bits
    if len(phrases._bits) < CACHE_LIMIT:
        phrases._bits[word] = bits
    return bits


def _needs(rule: Rule, bits: Mapping[str, int]) -> tuple[int, ...]:
    """The bits each part of a rule needs (any one of them), derived concepts by their sources."""
    needs = [_bits_of(part, bits) for part in rule.parts]
    for part in rule.parts:
        if part <= NEEDS.keys():
            needs.extend(_bits_of({NEEDS[c]}, bits) for c in part)
    return tuple(needs)


def _bits_of(concepts: frozenset[str] | set[str], bits: Mapping[str, int]) -> int:
    sources = (DERIVED.get(c, c) for c in concepts)
    return reduce(operator.or_, (bits.get(c, 0) for c in sources), 0)


def _language(language: str, entry: Any) -> tuple[dict[str, list[str]], list[str]]:
    """One ``[<language>]`` table as its concepts and ignored phrases, validated."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{language}: must be a table of phrases, ignore, negations, concepts")
    unknown = set(entry) - LANGUAGE_KEYS
    if unknown:
        raise ValueError(f"{language}.{sorted(unknown)[0]}: is not a known key")
    table = entry.get("concepts", {})
    if not isinstance(table, Mapping):
        raise ValueError(f"{language}.concepts: must be a table of concept = [entries]")
    concepts = {name: _strings(v, f"{language}.concepts.{name}") for name, v in table.items()}
    phrases = _strings(entry.get("phrases", []), f"{language}.phrases")
    concepts.setdefault("phrase", []).extend(phrases)
    negations = _strings(entry.get("negations", []), f"{language}.negations")
    concepts.setdefault("negation", []).extend(negations)
    return concepts, _strings(entry.get("ignore", []), f"{language}.ignore")


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: must be a list of strings")
    return list(value)
