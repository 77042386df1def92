"""Category: the history-trained model and the catalog's keywords, combined into catalog codes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from gateway.records import Classification, Service
from normalizer.category_model import MAX_CHARS, Analyzers, TextModel, predict
from normalizer.fold import fold
from normalizer.keywords import (
    KeywordIndex,
    build_keyword_index,
    keyword_hits,
    phrase_specificity,
    scores_from_hits,
    weighed_hits,
)


@dataclass(frozen=True, slots=True)
class Classifier:
    """What classification needs at run time; ``model`` is None when no history was trained."""

    keywords: KeywordIndex
    model: TextModel | None
    analyzers: Analyzers | None
    # Model label (a history category) -> catalog service code.
    label_codes: Mapping[str, str]
    threshold: float
    keyword_weight: float
    # A lead over the runner-up smaller than this is a close call, and so low confidence.
    margin: float = 0.0
    # The service code of each of the model's labels, in their order (None: not in the catalog).
    codes: tuple[str | None, ...] = ()
    # One-word keywords shared by several services' phrases, and what each counts for.
    specificity: Mapping[tuple[str, ...], float] = field(default_factory=dict)


def build_classifier(
    catalog: Sequence[Service],
    model: TextModel | None,
    *,
    threshold: float,
    keyword_weight: float,
    margin: float = 0.0,
) -> Classifier:
    """Prepare the keyword index, the model's analyzers and the label-to-code map."""
    analyzers = Analyzers.of(model) if model is not None else None
    labels = model.labels if model is not None else ()
    index = build_keyword_index(catalog)
    # The model carries the keyword index it was trained with; sharing it counts hits once.
    if model is not None and model.keywords.phrases == index.phrases:
        index = model.keywords
    label_codes = map_labels(labels, catalog)
    return Classifier(
        index,
        model,
        analyzers,
        label_codes,
        threshold,
        keyword_weight,
        margin,
        tuple(label_codes.get(label) for label in labels),
        phrase_specificity(index),
    )


def map_labels(labels: Sequence[str], catalog: Sequence[Service]) -> dict[str, str]:
    """History categories to service codes, by code, alias or name (case and accents ignored)."""
    known: dict[str, str] = {}
    for service in catalog:
        for name in (service.code, *service.aliases, *service.names.values()):
            known.setdefault(fold(name).strip(), service.code)
    return {label: known[fold(label).strip()] for label in labels if fold(label).strip() in known}


def classify(text: str, classifier: Classifier) -> Classification:
    """The service code, its confidence, the top three, and whether it is too unsure to file."""
    text = text[:MAX_CHARS]
    if classifier.model is not None and classifier.label_codes:
        scores = _with_model(text, classifier, classifier.model)
    else:
        scores = _keywords_alone(text, classifier)
    top = sorted(scores.items(), key=itemgetter(1), reverse=True)[:3]
    if not top:
        return Classification(service_code=None)
    code, confidence = top[0]
    runner_up = top[1][1] if len(top) > 1 else 0.0
    return Classification(
        service_code=code,
        confidence=round(confidence, 4),
        top=tuple((c, round(s, 4)) for c, s in top),
        low_confidence=confidence < classifier.threshold
        or confidence - runner_up < classifier.margin,
    )


def _with_model(text: str, classifier: Classifier, model: TextModel) -> dict[str, float]:
    """The model's probabilities with a share for the keywords' plain hits (weighing place
    words down did not help a model that has learned the city's own words)."""
    hits = keyword_hits(text, classifier.keywords)
    keyword = scores_from_hits(hits, classifier.keywords)
    shared = model.keywords is classifier.keywords
    probs = predict(model, text, classifier.analyzers, hits if shared else None)
    scores: dict[str, float] = {}
    for code, p in zip(classifier.codes, probs, strict=True):
        if code is not None:
            scores[code] = scores.get(code, 0.0) + p
    weight = classifier.keyword_weight if keyword else 0.0
    scale = (1.0 - weight) / (sum(scores.values()) or 1.0)
    scores = {c: s * scale for c, s in scores.items()}
    for code, s in keyword:
        scores[code] = scores.get(code, 0.0) + weight * s
    return scores


def _keywords_alone(text: str, classifier: Classifier) -> dict[str, float]:
    """Keyword shares, weighed by what the words say of the problem and scaled by how much
    evidence there is: one shared word ("street") or a place word is no reason to file
    without asking."""
    weighed = weighed_hits(text, classifier.keywords, classifier.specificity)
    evidence = 1.0 - math.exp(-sum(weighed))
    return {
        code: share * evidence for code, share in scores_from_hits(weighed, classifier.keywords)
    }
