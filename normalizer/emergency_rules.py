"""Emergency rules: concepts that together, within a window of words, mean a life is at risk.

A rule is ``{all = ["gas", "smell"], window = 7}``: every part (``"a|b"`` accepts either) must
occur, not cancelled, and the matched occurrences must span at most ``window`` words, in order
when ``ordered``. ``unless`` concepts near the match veto it ("smoke" beside "barbecue").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from normalizer.emergency_scope import Occurrence

# Concepts that cues create rather than the lexicon lists, and the lexicon concept they need.
DERIVED = {"vital_lost": "vital"}
RULE_KEYS = frozenset({"all", "window", "ordered", "unless", "unless_window", "anchor", "chronic"})


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule."""

    name: str
    parts: tuple[frozenset[str], ...]
    window: int = 0
    ordered: bool = False
    unless: frozenset[str] = frozenset()
    unless_window: int = 0
    anchor: frozenset[str] = frozenset()
    chronic: bool = False


def parse_rules(table: Mapping[str, Any], known: Collection[str]) -> tuple[Rule, ...]:
    """Validate and compile the ``[rules]`` table against the concepts the lexicons define."""
    return tuple(_parse_rule(name, spec, set(known) | set(DERIVED)) for name, spec in table.items())


def match_rule(
    rule: Rule,
    by_concept: Mapping[str, Sequence[Occurrence]],
    vetoes_by_concept: Mapping[str, Sequence[Occurrence]],
) -> list[Occurrence]:
    """Occurrences that together satisfy the rule, the earliest window first, else ``[]``.

    ``by_concept`` holds what survived the cues; vetoes count even where a cue cancelled them:
    "why can't I have a chiminea fire" is still about a chiminea."""
    candidates: list[list[Occurrence]] = []
    for part in rule.parts:
        found = sorted((o for c in part for o in by_concept.get(c, ())), key=_start)
        if not found:
            return []
        candidates.append(found)
    vetoes = [o.start for c in rule.unless for o in vetoes_by_concept.get(c, ())]
    # The span of a match begins at one of its occurrences: try each as the lowest word.
    lows = candidates[0] if rule.ordered else sorted((o for c in candidates for o in c), key=_start)
    for low in dict.fromkeys(o.start for o in lows):
        chosen = _window(candidates, low, low + rule.window, rule.ordered)
        if chosen and not _vetoed(rule, [o.start for o in chosen], vetoes):
            return chosen
    return []


def _window(
    candidates: list[list[Occurrence]], low: int, high: int, ordered: bool
) -> list[Occurrence]:
    """The earliest occurrence of every part within ``[low, high]``, in order when ``ordered``."""
    chosen: list[Occurrence] = []
    floor = low
    for found in candidates:
        pick = next((o for o in found if floor <= o.start <= high), None)
        if pick is None:
            return []
        chosen.append(pick)
        if ordered:
            floor = pick.start
    return chosen


def _start(occurrence: Occurrence) -> int:
    return occurrence.start


def _vetoed(rule: Rule, starts: list[int], vetoes: list[int]) -> bool:
    if rule.unless_window < 0:
        return bool(vetoes)
    low, high = min(starts) - rule.unless_window, max(starts) + rule.unless_window
    return any(low <= v <= high for v in vetoes)


def _parse_rule(name: str, spec: Any, known: set[str]) -> Rule:
    where = f"rules.{name}"
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: must be a table like {{ all = [...], window = 5 }}")
    unknown = set(spec) - RULE_KEYS
    if unknown:
        raise ValueError(f"{where}.{sorted(unknown)[0]}: is not a known key")
    parts = tuple(frozenset(p.split("|")) for p in _strings(spec.get("all"), f"{where}.all"))
    if not parts:
        raise ValueError(f"{where}.all: needs at least one concept")
    unless = frozenset(_strings(spec.get("unless", []), f"{where}.unless"))
    anchor = frozenset(str(spec.get("anchor", "|".join(sorted(parts[0])))).split("|"))
    for concept in set().union(*parts, unless, anchor):
        if concept not in known:
            raise ValueError(f"{where}: {concept!r} is not a concept of any language")
    window = _integer(spec.get("window", 0), f"{where}.window", 0)
    return Rule(
        name=name,
        parts=parts,
        window=window,
        ordered=_flag(spec.get("ordered", False), f"{where}.ordered"),
        unless=unless,
        unless_window=_integer(spec.get("unless_window", window), f"{where}.unless_window", -1),
        anchor=frozenset(DERIVED.get(c, c) for c in anchor),
        chronic=_flag(spec.get("chronic", False), f"{where}.chronic"),
    )


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: must be a list of concept names")
    return value


def _integer(value: Any, where: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{where}: must be a whole number >= {low}")
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: must be true or false")
    return value
