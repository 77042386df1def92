"""Category model trained on the city's own request history (text, category).

Word (1-2) and in-word character (2-5) n-gram TF-IDF plus the catalog's keyword hits feed a
linear SVM whose scores are Platt-calibrated on cross-validated decisions (scikit-learn).
Each TF-IDF block is scaled by the square root of its summed squared idf over n-gram
occurrences, a norm that adds up word by word: prediction then sums each word's cached share
of the linear scores instead of re-cutting and counting n-grams, which is what makes it cheap
enough to run on every message. Only training needs scikit-learn and scipy: a trained model
predicts with numpy alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise, repeat
from typing import Any

import numpy as np

from gateway.records import Service
from normalizer.fold import fold, lookup_all
from normalizer.keywords import KeywordIndex, build_keyword_index, keyword_hits

# Keyword hits are strong but coarse evidence; at half weight they help without drowning n-grams.
KEYWORD_SCALE = 0.5
SVM_C = 0.1
CHAR_MIN, CHAR_MAX = 2, 5
# Enough for any real report; the cap only bounds the cost of a pasted essay or a long thread.
MAX_CHARS = 2000
MODEL_VERSION = 2
# scikit-learn's default token pattern: runs of two or more word characters.
_TOKEN = re.compile(r"\w\w+")
# Run-time word cache bound: a city's vocabulary, typos included, fits several times over.
CACHE_WORDS = 100_000


@dataclass(frozen=True, slots=True)
class TextModel:
    """A trained model: n-gram columns and idf, linear weights, calibration, the labels."""

    labels: tuple[str, ...]
    word_table: dict[str, int]
    char_table: dict[str, int]
    idf: Any
    keywords: KeywordIndex
    # One row per feature column (word n-grams, char n-grams, keyword hits), one column a label.
    weights: Any
    intercept: Any
    calib_a: Any
    calib_b: Any
    version: int = MODEL_VERSION


def train_model(
    texts: Sequence[str], labels: Sequence[str], catalog: Sequence[Service], seed: int = 42
) -> TextModel:
    """Fit the model on history rows; labels seen only once are left to the keyword classifier."""
    # They take seconds to import: the gateway and its command line load them only to train.
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.svm import LinearSVC

    x_text, y = _training_rows(texts, labels)
    index = build_keyword_index(catalog)
    word = TfidfVectorizer(analyzer=word_grams, min_df=1, norm=None, dtype=np.float32)
    char = TfidfVectorizer(analyzer=char_grams, min_df=2, norm=None, dtype=np.float32)
    blocks: list[Any] = []
    for vectorizer in (word, char):
        tfidf = vectorizer.fit_transform(x_text)
        blocks.append(sparse.diags(_row_scale(tfidf, vectorizer.idf_)) @ tfidf)
    kw = sparse.csr_matrix(np.log1p(np.array([keyword_hits(t, index) for t in x_text])))
    features = sparse.hstack([*blocks, kw * KEYWORD_SCALE]).tocsr()
    svm = LinearSVC(C=SVM_C, random_state=seed).fit(features, y)
    folds = max(2, min(3, min(Counter(y).values())))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    decisions = cross_val_predict(
        LinearSVC(C=SVM_C, random_state=seed), features, y, cv=cv, method="decision_function"
    )
    # Platt scaling: a sigmoid per class, fitted on the out-of-fold decision values.
    sigmoids = [
        LogisticRegression(C=1e4).fit(decisions[:, k : k + 1], (y == label).astype(int))
        for k, label in enumerate(svm.classes_)
    ]
    return _text_model(svm, word, char, index, sigmoids)


def predict(
    model: TextModel,
    text: str,
    analyzers: Analyzers | None = None,
    hits: Sequence[float] | None = None,
) -> list[float]:
    """Calibrated probability of each of ``model.labels`` for one text, summing to 1.

    ``hits`` are the text's keyword hits against ``model.keywords`` when already computed."""
    analyzers = analyzers or Analyzers.of(model)
    text = text[:MAX_CHARS]
    if hits is None:
        hits = keyword_hits(text, model.keywords)
    scores = analyzers.scores(text, hits)
    probs = 1.0 / (1.0 + np.exp(-(model.calib_a * scores + model.calib_b)))
    result: list[float] = (probs / probs.sum()).tolist()
    return result


class Analyzers:
    """A loaded model's run-time tables and its word cache (one per loaded model).

    ``grams`` has a row per n-gram column: its idf-scaled weights, then its squared idf.
    ``words`` has a row per word seen: its char n-grams' summed ``grams`` rows, then its word
    unigrams'. A text's score is then a sum over its words' rows and its bigrams' rows."""

    __slots__ = ("_grams", "_intercept", "_rows", "_words", "_zero", "keyword_weights", "model")

    def __init__(self, model: TextModel) -> None:
        columns, k = len(model.idf), len(model.labels)
        idf = model.idf.astype(np.float32)
        self.model = model
        self.keyword_weights = model.weights[columns:].astype(np.float64) * KEYWORD_SCALE
        self._intercept = model.intercept.astype(np.float64)
        # The extra last row stays zero: it stands for n-grams the model does not know.
        self._zero = columns
        self._grams = np.zeros((columns + 1, k + 1), dtype=np.float32)
        self._grams[:columns, :k] = model.weights[:columns] * idf[:, None]
        self._grams[:columns, k] = idf * idf
        self._words = np.zeros((1024, 2 * k + 2), dtype=np.float32)
        self._rows: dict[str, int] = {}

    @classmethod
    def of(cls, model: TextModel) -> Analyzers:
        """The tables of a model, with an empty cache."""
        return cls(model)

    def scores(self, text: str, hits: Sequence[float]) -> Any:
        """The linear scores of one text: each block's summed share over its norm, plus hits."""
        # A text adds at most one row per two characters; a full cache starts afresh.
        if len(self._rows) > CACHE_WORDS - MAX_CHARS:
            self._rows.clear()
        rows = lookup_all(text.split(), self._rows, self._learn)
        # Bigrams are the only n-grams that span words; unknown ones count as the zero row.
        pairs = map(" ".join, pairwise(_TOKEN.findall(fold(text))))
        bigrams = list(map(self.model.word_table.get, pairs, repeat(self._zero)))
        k = len(self.model.labels)
        words = self._words[rows].sum(axis=0, dtype=np.float64)
        word_block = words[k + 1 :] + self._grams[bigrams].sum(axis=0, dtype=np.float64)
        scores = self._intercept.copy()
        for i, hit in enumerate(hits):
            if hit:
                scores += math.log1p(hit) * self.keyword_weights[i]
        for block in (words[: k + 1], word_block):
            if block[k]:
                scores += block[:k] / math.sqrt(block[k])
        return scores

    def _learn(self, raw: str) -> int:
        """Compute and remember one word's row (once: rows are numbered by the cache's size)."""
        known = self._rows.get(raw)
        if known is not None:
            return known
        tokens, grams = split_word(raw)
        chars = [c for c in map(self.model.char_table.get, grams) if c is not None]
        unigrams = [c for c in map(self.model.word_table.get, tokens) if c is not None]
        row = len(self._rows)
        if row == len(self._words):
            self._words = np.concatenate([self._words, np.zeros_like(self._words)])
        k = len(self.model.labels)
        self._words[row, : k + 1] = self._grams[chars].sum(axis=0)
        self._words[row, k + 1 :] = self._grams[unigrams].sum(axis=0)
        self._rows[raw] = row
        return row


@lru_cache(maxsize=1 << 17)
def split_word(raw: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """One whitespace-separated word's tokens and its space-padded char n-grams."""
    word = fold(raw)
    padded = f" {word} "
    grams: list[str] = []
    for n in range(CHAR_MIN, CHAR_MAX + 1):
        # A word no longer than n is one n-gram, and longer n-grams would repeat it.
        if n >= len(padded):
            grams.append(padded)
            break
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return tuple(_TOKEN.findall(word)), tuple(grams)


def word_grams(text: str) -> list[str]:
    """Word unigrams and bigrams of a text (the word vectorizer's analyzer)."""
    tokens = _TOKEN.findall(fold(text))
    return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]


def char_grams(text: str) -> list[str]:
    """Char n-grams of every word of a text (the char vectorizer's analyzer)."""
    return [g for raw in text.split() for g in split_word(raw)[1]]


def _training_rows(texts: Sequence[str], labels: Sequence[str]) -> tuple[list[str], Any]:
    """Texts (capped) and labels of the rows whose label is seen twice or more."""
    counts = Counter(labels)
    keep = [i for i, label in enumerate(labels) if counts[label] >= 2 and texts[i].strip()]
    y = np.array([labels[i] for i in keep])
    if len(set(y)) < 2:
        raise ValueError("the history needs at least two categories with two rows each")
    return [texts[i][:MAX_CHARS] for i in keep], y


def _row_scale(tfidf: Any, idf: Any) -> Any:
    """Per TF-IDF row, one over the root of its summed squared idf per n-gram occurrence."""
    sq = np.asarray(tfidf @ idf).ravel()
    scale = np.divide(1.0, np.sqrt(sq), out=np.zeros_like(sq), where=sq > 0)
    return scale.astype(np.float32)


def _text_model(
    svm: Any, word: Any, char: Any, index: KeywordIndex, sigmoids: Sequence[Any]
) -> TextModel:
    """The run-time model from the fitted SVM, vectorizers and per-class sigmoids."""
    offset = len(word.vocabulary_)
    return TextModel(
        labels=tuple(str(c) for c in svm.classes_),
        word_table={gram: int(col) for gram, col in word.vocabulary_.items()},
        char_table={gram: offset + int(col) for gram, col in char.vocabulary_.items()},
        idf=np.concatenate([word.idf_, char.idf_]).astype(np.float32),
        keywords=index,
        weights=np.ascontiguousarray(svm.coef_.T, dtype=np.float32),
        intercept=np.asarray(svm.intercept_, dtype=np.float32),
        calib_a=np.array([float(fit.coef_[0][0]) for fit in sigmoids], dtype=np.float32),
        calib_b=np.array([float(fit.intercept_[0]) for fit in sigmoids], dtype=np.float32),
    )
