"""Category model trained on the city's own request history (text, category).

Word and character n-gram TF-IDF plus the catalog's keyword hits feed a linear SVM whose
scores are Platt-calibrated on cross-validated decisions (scikit-learn). Prediction takes a
hand-rolled sparse path because scikit-learn's per-call overhead is milliseconds per message.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC

from gateway.records import Service
from normalizer.fold import fold
from normalizer.keywords import KeywordIndex, build_keyword_index, keyword_hits

# Keyword hits are strong but coarse evidence; at half weight they help without drowning n-grams.
KEYWORD_SCALE = 0.5
SVM_C = 0.1
MAX_CHARS = 600
MODEL_VERSION = 1


@dataclass(frozen=True, slots=True)
class TextModel:
    """A trained model: vectorizers, linear weights, calibration and the history's labels."""

    labels: tuple[str, ...]
    word: TfidfVectorizer
    char: TfidfVectorizer
    keywords: KeywordIndex
    coef: Any
    intercept: Any
    calib_a: Any
    calib_b: Any
    version: int = MODEL_VERSION


def train_model(
    texts: Sequence[str], labels: Sequence[str], catalog: Sequence[Service], seed: int = 42
) -> TextModel:
    """Fit the model on history rows; labels seen only once are left to the keyword classifier."""
    counts = Counter(labels)
    keep = [i for i, label in enumerate(labels) if counts[label] >= 2 and texts[i].strip()]
    x_text = [texts[i][:MAX_CHARS] for i in keep]
    y = np.array([labels[i] for i in keep])
    if len(set(y)) < 2:
        raise ValueError("the history needs at least two categories with two rows each")
    index = build_keyword_index(catalog)
    word = _vectorizer(analyzer="word", ngram_range=(1, 2), min_df=1)
    char = _vectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2)
    kw = sparse.csr_matrix(np.log1p(np.array([keyword_hits(t, index) for t in x_text])))
    features = sparse.hstack(
        [word.fit_transform(x_text), char.fit_transform(x_text), kw * KEYWORD_SCALE]
    ).tocsr()
    svm = LinearSVC(C=SVM_C).fit(features, y)
    folds = max(2, min(3, min(Counter(y).values())))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    decisions = cross_val_predict(
        LinearSVC(C=SVM_C), features, y, cv=cv, method="decision_function"
    )
    calib_a, calib_b = _platt(decisions, y, svm.classes_)
    return TextModel(
        labels=tuple(str(c) for c in svm.classes_),
        word=word,
        char=char,
        keywords=index,
        coef=np.asarray(svm.coef_, dtype=np.float32),
        intercept=np.asarray(svm.intercept_, dtype=np.float32),
        calib_a=calib_a,
        calib_b=calib_b,
    )


def predict(
    model: TextModel,
    text: str,
    analyzers: Analyzers | None = None,
    hits: Sequence[float] | None = None,
) -> list[float]:
    """Calibrated probability of each of ``model.labels`` for one text, summing to 1.

    ``hits`` are the text's keyword hits against ``model.keywords`` when already computed."""
    analyzers = analyzers or Analyzers.of(model)
    if hits is None:
        hits = keyword_hits(text[:MAX_CHARS], model.keywords)
    idx, vals = _features(analyzers, text, hits)
    scores = model.coef[:, idx] @ vals + model.intercept
    probs = 1.0 / (1.0 + np.exp(-(model.calib_a * scores + model.calib_b)))
    total = float(probs.sum())
    return [float(p) / total for p in probs]


@dataclass(frozen=True, slots=True)
class Analyzers:
    """The vectorizers' tokenizers and n-gram tables (column, idf), built once per loaded model."""

    word: Callable[[str], list[str]]
    char: Callable[[str], list[str]]
    word_table: dict[str, int]
    char_table: dict[str, int]
    idf: Any

    @classmethod
    def of(cls, model: TextModel) -> Analyzers:
        """Build the analyzers of a model."""
        offset = len(model.word.vocabulary_)
        return cls(
            model.word.build_analyzer(),
            model.char.build_analyzer(),
            dict(model.word.vocabulary_),
            {gram: offset + col for gram, col in model.char.vocabulary_.items()},
            np.concatenate([model.word.idf_, model.char.idf_]).astype(np.float32),
        )


def _vectorizer(**options: Any) -> TfidfVectorizer:
    return TfidfVectorizer(sublinear_tf=True, preprocessor=fold, dtype=np.float32, **options)


def _features(analyzers: Analyzers, text: str, hits: Sequence[float]) -> tuple[Any, Any]:
    """The sparse feature vector of one text, as (column indices, values)."""
    # The head of a long message says what it is about; the cap bounds the cost of an essay.
    text = text[:MAX_CHARS]
    word_cols, word_vals = _tfidf(analyzers.word_table, analyzers.idf, analyzers.word(text))
    char_cols, char_vals = _tfidf(analyzers.char_table, analyzers.idf, analyzers.char(text))
    offset = len(analyzers.word_table) + len(analyzers.char_table)
    found = [(offset + i, math.log1p(h) * KEYWORD_SCALE) for i, h in enumerate(hits) if h]
    kw_cols = np.array([c for c, _ in found], dtype=np.intp)
    kw_vals = np.array([v for _, v in found], dtype=np.float32)
    return (
        np.concatenate([word_cols, char_cols, kw_cols]),
        np.concatenate([word_vals, char_vals, kw_vals]),
    )


def _tfidf(table: dict[str, int], idf: Any, grams: list[str]) -> tuple[Any, Any]:
    """Sublinear, L2-normalised TF-IDF weights of the n-grams the model knows."""
    found = [c for c in map(table.get, grams) if c is not None]
    if not found:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    columns, tf = np.unique(np.array(found, dtype=np.intp), return_counts=True)
    weights = (1.0 + np.log(tf)) * idf[columns]
    norm = float(np.sqrt(np.dot(weights, weights))) or 1.0
    return columns, weights / norm


def _platt(decisions: Any, y: Any, classes: Any) -> tuple[Any, Any]:
    """Per-class sigmoid (Platt scaling) from out-of-fold decision values."""
    slopes = np.zeros(len(classes), dtype=np.float32)
    biases = np.zeros(len(classes), dtype=np.float32)
    for k, label in enumerate(classes):
        target = (y == label).astype(int)
        fit = LogisticRegression(C=1e4).fit(decisions[:, k : k + 1], target)
        slopes[k] = float(fit.coef_[0][0])
        biases[k] = float(fit.intercept_[0])
    return slopes, biases
