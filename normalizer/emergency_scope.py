"""Emergency cues: negations, hypotheticals and the past, each cancelling the words it scopes.

"no one is hurt" cancels the person and the hurt, not a fire in the next clause; "he is not
breathing" turns a vital sign into its loss; "before someone gets hurt" is a hypothetical; "a
fire last year" is over. Scopes end at punctuation and at boundary words ("but", "and").
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from normalizer.emergency_lexicon import CUES

NEGATION_SCOPE = 4
MODAL_SCOPE = 3
PAST_SCOPE = 12
SCOPED = frozenset({"negation", "modal", "past", "habitual", "hedge"})


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A concept found at ``words[start:end]``, in the languages whose lexicon has it."""

    start: int
    end: int
    concept: str
    languages: frozenset[str]


def resolve(
    found: Sequence[Occurrence],
    ends: Collection[int],
    objects: Collection[int],
    chronic: Collection[str],
) -> list[Occurrence]:
    """The meaningful occurrences that survive the cues, plus the vital signs negation inverts.

    ``ends`` are the words a clause ends right before (after punctuation, at "but"),
    ``objects`` the words that make a vital sign before them transitive; ``chronic`` concepts
    (a gas smell) still count when they are habitual ("every morning I smell gas")."""
    cues = _outermost([o for o in found if o.concept in SCOPED])
    content = [o for o in found if o.concept not in CUES]
    state = _State(content, ends, cues)
    for cue in cues:
        if cue.concept == "negation":
            state.negate(cue, objects)
    exempt = {o.start for o in found if o.concept in ("modal_exempt", "negation")}
    negation_ends = {o.end for o in cues if o.concept == "negation"}
    for cue in cues:
        if cue in state.voided:
            continue
        if cue.concept == "modal" and cue.end not in exempt and not _negated(cue, negation_ends):
            state.cancel(_scope(cue.end, MODAL_SCOPE, ends))
        elif cue.concept in ("past", "habitual"):
            keep = chronic if cue.concept == "habitual" else ()
            state.cancel(_clause(cue, ends), keep)
    return [o for o in state.content if id(o) not in state.cancelled]


class _State:
    """The occurrences being resolved: which are cancelled, which cues are void."""

    def __init__(
        self, content: list[Occurrence], ends: Collection[int], cues: list[Occurrence]
    ) -> None:
        self.content = content
        self.ends = ends
        self.cancelled: set[int] = set()
        self.voided: set[Occurrence] = set()
        self.past_at = {c.start: c for c in cues if c.concept in ("past", "habitual")}

    def at(self, position: int) -> list[Occurrence]:
        return [o for o in self.content if o.start == position]

    def cancel(self, positions: Iterator[int] | range, keep: Collection[str] = ()) -> None:
        wanted = set(positions)
        self.cancelled.update(
            id(o) for o in self.content if o.start in wanted and o.concept not in keep
        )

    def negate(self, cue: Occurrence, objects: Collection[int]) -> None:
        """Cancel what the negation scopes; a vital sign it reaches first is lost instead.

        A past cue it reaches first is void instead: "never fixed" is not over."""
        for position in _scope(cue.end, NEGATION_SCOPE, self.ends):
            if position in self.past_at:
                self.voided.add(self.past_at[position])
                return
            here = self.at(position)
            vital = next((o for o in here if o.concept == "vital" and o.end not in objects), None)
            if vital is not None:
                # Placed where the vital sign is, so that windows measure from the same word
                # whether or not the negation is seen.
                lost = Occurrence(vital.start, vital.end, "vital_lost", vital.languages)
                self.content.append(lost)
                return
            self.cancelled.update(id(o) for o in here)


def _negated(modal: Occurrence, negation_ends: Collection[int]) -> bool:
    """A negation just before a modal makes it a plain negation: "can't", "no se puede"."""
    return any(modal.start - 1 <= end <= modal.start for end in negation_ends)


def _outermost(cues: list[Occurrence]) -> list[Occurrence]:
    """Cues not inside a longer one: "not sure" is a hedge, not the negation "not"."""
    kept = [c for c in cues if not any(_inside(c, o) for o in cues)]
    return sorted(kept, key=lambda c: (c.start, c.end))


def _inside(inner: Occurrence, outer: Occurrence) -> bool:
    return (
        outer.start <= inner.start
        and inner.end <= outer.end
        and outer.end - outer.start > inner.end - inner.start
    )


def _scope(start: int, length: int, ends: Collection[int]) -> Iterator[int]:
    for position in range(start, start + length):
        if position in ends:
            return
        yield position


def _clause(cue: Occurrence, ends: Collection[int]) -> range:
    left = max([e for e in ends if e <= cue.start] + [cue.start - PAST_SCOPE])
    right = min([e for e in ends if e >= cue.end] + [cue.end + PAST_SCOPE])
    return range(left, right)
