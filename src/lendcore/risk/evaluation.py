"""Evaluation and development-sample statistics shared by every model family.

Model development only (numpy, scikit-learn). Scores are "higher = lower risk"; probabilities of
bad are passed negated by the callers that rank on them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from lendcore.risk.scorecard import bands_from_cutoffs

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")


class _BinnedFeature(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def labels(self) -> tuple[str, ...]: ...
    def assign(self, value: Any, /) -> tuple[str, int]: ...


class BinnedModel(Protocol):
    """What the development distributions need: features that assign a value to a labelled bin."""

    @property
    def features(self) -> Sequence[_BinnedFeature]: ...


def ks_statistic(y: ArrayLike, scores: ArrayLike) -> float:
    """Kolmogorov-Smirnov distance between the score distributions of goods and bads."""
    import numpy as np
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(y), -np.asarray(scores, dtype=float))
    return float(np.max(np.abs(tpr - fpr)))


def auc(y: ArrayLike, scores: ArrayLike) -> float:
    """ROC AUC of a score where higher = lower risk (so bads should score low)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(y), -np.asarray(scores, dtype=float)))


def score_distribution(scores: Sequence[int], n_bins: int) -> dict[str, list[float]]:
    import numpy as np

    arr = np.asarray(scores, dtype=float)
    qs = np.quantile(arr, np.linspace(0, 1, n_bins + 1)[1:-1])
    edges = sorted({float(q) for q in qs})
    # right-open bins over integer scores: put edges between integers so ties stay together
    edges = sorted({math.floor(e) + 0.5 for e in edges})
    idx = np.searchsorted(np.asarray(edges), arr, side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return {"edges": edges, "shares": [float(c) / len(arr) for c in counts]}


def feature_distributions(
    card: BinnedModel, rows: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    n = len(rows)
    for feature in card.features:
        counts = dict.fromkeys(feature.labels, 0)
        for row in rows:
            label, _ = feature.assign(row.get(feature.name))
            counts[label] += 1
        out[feature.name] = {k: v / n for k, v in counts.items()}
    return out


def bands(scores: Sequence[int], y: Sequence[int]) -> list[dict[str, Any]]:
    import numpy as np

    arr = np.asarray(scores)
    ys = np.asarray(y)
    cutoffs = sorted({math.ceil(q) for q in np.quantile(arr, [0.2, 0.4, 0.6, 0.8])})
    grades = GRADES[: len(cutoffs) + 1]
    bands = bands_from_cutoffs(grades, cutoffs)
    for band in bands:
        mask = np.ones(len(arr), dtype=bool)
        if band["min_score"] is not None:
            mask &= arr >= band["min_score"]
        if band["max_score"] is not None:
            mask &= arr < band["max_score"]
        band["dev_share"] = round(float(mask.mean()), 6)
        band["dev_bad_rate"] = round(float(ys[mask].mean()), 6) if mask.any() else None
    return bands
