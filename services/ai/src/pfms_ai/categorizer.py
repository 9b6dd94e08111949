"""Expense categorisation models (no I/O): text features, training with a held-out score, prediction.

Features are character n-grams of the normalised description (word boundaries kept), which survive
the noise of card statements ("POS STARBUCKS #1234 SEATTLE") and unseen store numbers; the amount
joins as a coarse bucket token so that "Amazon 9.99" and "Amazon 899" can part ways in a user model.
A linear model trained by SGD on the log loss gives probabilities for a confidence threshold and
trains in a fraction of a second (per-user models are retrained whenever the user's labels change).
"""

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GroupShuffleSplit

_NOISE = re.compile(r"[#*]?\d[\d\-/.:]*|\b(pos|debit|card|payment|purchase|to|order|ach|txn|ref)\b")
_SPACES = re.compile(r"[^a-z&+']+")


def normalise(description: str) -> str:
    """Lower case, no store numbers, dates or card-statement boilerplate."""
    text = _NOISE.sub(" ", description.lower())
    return " ".join(_SPACES.sub(" ", text).split())


def merchant_key(description: str) -> str:
    """The merchant a description names, as a rule key: its first two meaningful words."""
    return " ".join(normalise(description).split()[:2])


def amount_token(amount: Decimal | None) -> str:
    """A coarse log-scale bucket of the amount (…, 10-31, 32-99, 100-315, …) as one extra word."""
    if amount is None or amount <= 0:
        return ""
    return f" amt{int(math.log10(float(amount)) * 2)}"


def features(description: str, amount: Decimal | None = None) -> str:
    return normalise(description) + amount_token(amount)


@dataclass
class Prediction:
    label: str
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Model:
    """A trained text classifier over labels (category names)."""

    vectorizer: TfidfVectorizer
    classifier: SGDClassifier
    version: str
    accuracy: float | None
    samples: int

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def probabilities(self, text: str) -> dict[str, float]:
        return self.probabilities_many([text])[0]

    def probabilities_many(self, texts: list[str]) -> list[dict[str, float]]:
        """Softmax of the linear scores for many texts at once (one sparse product for a whole batch of
        events), computed directly: the estimators' own input checks cost more than the maths."""
        labels = self.labels
        scores = self._scorer.scores(texts)
        if len(labels) == 2:  # binary models keep one weight vector: the score of the second label
            scores = np.hstack([-scores, scores]) / 2
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        proba = exp / exp.sum(axis=1, keepdims=True)
        return [dict(zip(labels, row.tolist(), strict=True)) for row in proba]

    @cached_property
    def _scorer(self) -> "Scorer":
        return Scorer.of(self.vectorizer, self.classifier)

    def __getstate__(self) -> dict[str, Any]:
        """Stored without the scorer: it is derived from the fitted estimators on first use."""
        return {k: v for k, v in self.__dict__.items() if k != "_scorer"}

    def predict(self, text: str, *, top: int = 3) -> Prediction:
        return ranked(self.probabilities(text), top=top)


@dataclass(frozen=True)
class Scorer:
    """The fitted TF-IDF vectoriser and linear model as plain lookups: the vectoriser's own analyser
    (same n-grams), its vocabulary and idf weights, then sublinear tf, l2 norm and the linear scores —
    what `vectorizer.transform(texts) @ coef.T + intercept` computes, without scikit-learn's per-call
    validation, which cost several milliseconds a call (most of `POST /categorize`)."""

    analyse: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef_t: np.ndarray
    intercept: np.ndarray

    @classmethod
    def of(cls, vectorizer: TfidfVectorizer, classifier: SGDClassifier) -> "Scorer":
        return cls(
            vectorizer.build_analyzer(),
            dict(vectorizer.vocabulary_),
            np.asarray(vectorizer.idf_, dtype=np.float64),
            np.ascontiguousarray(classifier.coef_.T),
            np.asarray(classifier.intercept_, dtype=np.float64),
        )

    def scores(self, texts: list[str]) -> np.ndarray:
        out = np.tile(self.intercept, (len(texts), 1))
        vocabulary = self.vocabulary
        for row, text in enumerate(texts):
            found = Counter(i for i in map(vocabulary.get, self.analyse(text)) if i is not None)
            if not found:
                continue
            columns = np.fromiter(found.keys(), dtype=np.intp, count=len(found))
            tf = np.fromiter(found.values(), dtype=np.float64, count=len(found))
            weights = (np.log(tf) + 1.0) * self.idf[columns]
            out[row] += (weights / np.sqrt(weights @ weights)) @ self.coef_t[columns]
        return out


def ranked(scores: dict[str, float], *, top: int = 3) -> Prediction:
    order = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    best, confidence = order[0]
    return Prediction(best, confidence, order[1 : top + 1])


def _fit(texts: list[str], labels: list[str]) -> tuple[TfidfVectorizer, SGDClassifier]:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    classifier = SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=50, tol=1e-4, random_state=0)
    classifier.fit(vectorizer.fit_transform(texts), labels)
    return vectorizer, classifier


def train(
    texts: list[str], labels: list[str], groups: list[str] | None = None, *, holdout: float = 0.2, seed: int = 7
) -> Model:
    """Fit on all samples; the accuracy is measured first on a held-out share of the `groups`.

    Groups are merchants: holding whole merchants out measures how the model does on shops it never
    saw, not how well it remembers the ones it did. With too little data to hold anything out the
    accuracy is unknown (None) rather than made up.
    """
    if len(set(labels)) < 2:
        raise ValueError("a model needs at least two labels")
    groups = groups or texts
    accuracy: float | None = None
    if len(set(groups)) >= 10 and len(labels) >= 20:
        train_idx, test_idx = next(GroupShuffleSplit(test_size=holdout, random_state=seed).split(texts, labels, groups))
        y_train = [labels[i] for i in train_idx]
        if len(set(y_train)) >= 2:
            vectorizer, classifier = _fit([texts[i] for i in train_idx], y_train)
            predicted = classifier.predict(vectorizer.transform([texts[i] for i in test_idx]))
            accuracy = float(np.mean(predicted == np.array([labels[i] for i in test_idx])))
    vectorizer, classifier = _fit(texts, labels)
    digest = hashlib.sha256("\n".join(f"{t}\t{y}" for t, y in zip(texts, labels, strict=True)).encode())
    return Model(vectorizer, classifier, digest.hexdigest()[:12], accuracy, len(labels))


def blend(general: dict[str, float], personal: dict[str, float] | None, personal_weight: float) -> dict[str, float]:
    """Mix the global model's and a user model's probabilities, by category name."""
    if not personal:
        return general
    scores = {name: p * (1 - personal_weight) for name, p in general.items()}
    for name, p in personal.items():
        scores[name] = scores.get(name, 0.0) + p * personal_weight
    return scores


def personal_weight(samples: int, *, full_at: int = 40, ceiling: float = 0.85) -> float:
    """How much a user model counts: grows with the user's labelled history, never to all of it."""
    return min(ceiling, samples / full_at * ceiling)
