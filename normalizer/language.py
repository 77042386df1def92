"""Language among the city's configured ones, reliable on short texts.

Lingua's n-gram models decide, helped by word evidence: the catalog's own words in each
language and a few function words, because on a dozen words Lingua alone can be fooled by an
English street name inside a Spanish sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from gateway.records import Service
from normalizer.fold import text_tokens, tokens

# Frequent function words that are not words of another of these languages.
_EN = "the is are was there in on of and to my it this that with at near by not from have has been"
_ES = "el la los las es hay en de del y que mi un una esta este por para con cerca frente no desde"
FUNCTION_WORDS: Mapping[str, frozenset[str]] = {
    "en": frozenset(_EN.split(" ")),
    "es": frozenset(_ES.split(" ")),
}
# Each distinctive word is worth this much log-odds against Lingua's view.
WORD_WEIGHT = 1.5
MAX_CHARS = 300
MAX_WORDS = 60


@dataclass(frozen=True, slots=True)
class LanguageModel:
    """A Lingua detector for the configured languages plus per-language word lists."""

    languages: tuple[str, ...]
    detector: LanguageDetector | None
    words: Mapping[str, frozenset[str]]


def supported_languages() -> frozenset[str]:
    """ISO 639-1 codes Lingua can detect."""
    return frozenset(lang.iso_code_639_1.name.lower() for lang in Language.all())


def build_language_model(languages: Sequence[str], catalog: Sequence[Service]) -> LanguageModel:
    """Build the detector once at start; the first language is the default."""
    detector = None
    if len(languages) > 1:
        codes = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in languages]
        # Loading the models now spares the first message the wait.
        builder = LanguageDetectorBuilder.from_languages(*codes)
        detector = builder.with_preloaded_language_models().build()
    vocab: dict[str, set[str]] = {lang: set(FUNCTION_WORDS.get(lang, ())) for lang in languages}
    for service in catalog:
        for lang, phrases in service.keywords.items():
            if lang in vocab:
                vocab[lang].update(t for w in phrases for t in tokens(w) if len(t) > 3)
    # A word two languages share is no evidence for either.
    shared = {w for a in vocab for b in vocab if a != b for w in vocab[a] & vocab[b]}
    distinct = {lang: frozenset(v - shared) for lang, v in vocab.items()}
    return LanguageModel(tuple(languages), detector, distinct)


def detect_language(text: str, model: LanguageModel) -> str:
    """The most likely configured language of the text (the default when there is no text)."""
    if model.detector is None or not text.strip():
        return model.languages[0]
    # The opening words carry the language; the caps bound the cost of long messages.
    words = text_tokens(text)[:MAX_WORDS]
    scores = {lang: 0.0 for lang in model.languages}
    for lang, vocab in model.words.items():
        scores[lang] = WORD_WEIGHT * sum(map(vocab.__contains__, words))
    ranked = sorted(scores.values(), reverse=True)
    # Three or more distinctive words settle it without asking Lingua.
    if ranked[0] - ranked[1] < 3 * WORD_WEIGHT:
        for value in model.detector.compute_language_confidence_values(text[:MAX_CHARS]):
            code = value.language.iso_code_639_1.name.lower()
            if code in scores:
                scores[code] += value.value * 2.0
    return max(model.languages, key=lambda lang: scores[lang])
