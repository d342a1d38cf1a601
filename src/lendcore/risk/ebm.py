"""Explainable Boosting Machine artefact (``lendcore.ebm/1``) and its plain-Python scorer.

On the request path, like :mod:`lendcore.risk.scorecard`: standard library only. An EBM is an
additive model on the logit scale, ``logit(p_bad) = intercept + Σ_t f_t(bins of the term's
features)``: one shape function per feature (main terms) plus a few pairwise interactions, each a
lookup table over the features' bins. Scoring is one ``bisect`` or ``dict`` lookup per feature and
resolution level, and one table lookup per term; all tables are prepared when the artefact loads.

Artefact (JSON)::

    {"format": "lendcore.ebm/1", "model_id", "version", "trained_at", "target", "bad_value",
     "link": "logit", "intercept": float,
     "scaling": {"pdo", "base_score", "base_odds"},
     "features": [
        {"name", "kind": "numerical", "levels": [[cut, ...], ...]},
        {"name", "kind": "categorical", "levels": [{category: bin, ...}, ...]}],
     "terms": [{"name", "features": [name, ...], "levels": [int, ...], "scores": [...] | [[...], ...]}],
     "score_bands", "dev_distribution", "metrics"}

Bins of one feature at one resolution level (``levels[k]``; main terms use level 0, interactions
usually a coarser one): bin 0 is *missing* (``None``, NaN, ``""``); a numerical value ``x`` goes to
bin ``1 + #{cuts ≤ x}`` (cuts strictly increasing; ``x == cut`` goes up); a category (looked up as
text, see :func:`~lendcore.risk.scorecard.category_key`) to its listed bin (≥ 1); the last bin is
*unseen* (a category not listed). A numerical feature has ``len(cuts) + 3`` bins, a categorical one
``max(bin) + 2``. A term's ``scores`` is a table with one axis per feature, of those bin counts
(log-odds of bad). This is interpret's own layout (``bins_``, ``term_features_``, ``term_scores_``,
``intercept_``, ``link_``), so the export copies numbers and never refits.

Score: ``probability_bad = 1 / (1 + exp(−logit))``, exactly what the library predicts. The integer
score uses the scorecard scaling (``score = round(offset − factor · logit)``, higher = lower risk), and
each term's contribution is given in the same points, ``points = −factor · f_t`` (base points
``offset − factor · intercept``), so base points + Σ points is the unrounded score.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, cast

from lendcore.risk.scorecard import (
    FeatureValue,
    Scaling,
    ScoreBand,
    ScoreDistribution,
    as_number,
    category_key,
    is_missing,
)

FORMAT_ID: Final = "lendcore.ebm/1"
ARTEFACT_FILE: Final = "ebm.json"
LINKS: Final = ("logit",)


@dataclass(frozen=True, slots=True)
class BinLevel:
    """One resolution of one feature's binning (see the module docstring for the bin numbering)."""

    feature: str
    cuts: tuple[float, ...] | None  # numerical
    lookup: Mapping[str, int] | None  # categorical: category → bin
    labels: tuple[str, ...]  # one per bin, missing first and unseen last

    @property
    def n_bins(self) -> int:
        return len(self.labels)

    def index(self, value: FeatureValue) -> int:
        cuts = self.cuts
        if cuts is not None:
            cls = value.__class__
            if (cls is float or cls is int) and value == value:  # fast path: a present number
                return bisect_right(cuts, cast(float, value)) + 1
            if is_missing(value):
                return 0
            x = as_number(self.feature, value)
            return 0 if x != x else bisect_right(cuts, x) + 1
        lookup = self.lookup
        assert lookup is not None
        if value.__class__ is str and value:
            found = lookup.get(value)
            if found is not None:
                return found
        if is_missing(value):
            return 0
        return lookup.get(category_key(value), len(self.labels) - 1)


@dataclass(frozen=True, slots=True)
class EbmFeature:
    name: str
    kind: str  # numerical | categorical
    levels: tuple[BinLevel, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of the main-resolution bins (what monitoring compares with development)."""
        return self.levels[0].labels

    def assign(self, value: FeatureValue) -> tuple[str, int]:
        """(bin label, bin) of ``value`` at the main resolution."""
        level = self.levels[0]
        i = level.index(value)
        return level.labels[i], i


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    features: tuple[str, ...]
    #: positions into the model's (feature, level) slots, one per axis, and the axis strides
    slots: tuple[int, ...]
    strides: tuple[int, ...]
    scores: tuple[float, ...]  # row-major table, log-odds of bad
    labels: tuple[tuple[str, ...], ...]  # per axis, per bin
    cell_labels: tuple[str, ...]  # per cell: the axes' bin labels joined by " × "
    points: tuple[float, ...]  # −factor · score per cell (score points, higher = lower risk)
    max_points: float  # the best points anywhere in the table


class TermContribution(NamedTuple):
    """One term's part of a score. ``points`` is in score points (higher = lower risk);
    ``max_points - points`` is what the value cost the applicant, as for the scorecard.

    A named tuple rather than a frozen dataclass: one is built per term per score, and a frozen
    dataclass costs three times as much to build (immutable either way; JSON as an object)."""

    feature: str  # the term's name: a feature, or "a & b" for an interaction
    value: FeatureValue | tuple[FeatureValue, ...]
    bin: str
    points: float
    max_points: float
    log_odds: float


@dataclass(frozen=True, slots=True)
class EbmResult:
    """A score. ``contributions`` (the explanation) is built when read, from the bins and values
    captured at scoring time, so a decision that only needs the score does not pay for it."""

    score: int
    probability_bad: float
    log_odds: float
    _model: EbmModel = field(repr=False, compare=False)
    _values: tuple[FeatureValue, ...] = field(repr=False)
    _bins: tuple[int, ...] = field(repr=False)

    @property
    def contributions(self) -> tuple[TermContribution, ...]:
        """One entry per term, in the artefact's term order."""
        return self._model.explain_bins(self._values, self._bins)


@dataclass(frozen=True, slots=True, eq=False)
class EbmModel:
    model_id: str
    version: str
    trained_at: str
    target: str
    bad_value: str
    link: str
    intercept: float
    scaling: Scaling
    features: tuple[EbmFeature, ...]
    terms: tuple[Term, ...]
    score_bands: tuple[ScoreBand, ...]
    dev_score_distribution: ScoreDistribution | None
    dev_feature_distributions: Mapping[str, Mapping[str, float]]
    metrics: Mapping[str, Any]
    #: (feature name, level) per slot: the binnings a score computes, each once
    _slots: tuple[tuple[str, BinLevel], ...] = field(default=(), repr=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def axis_levels(self, term: Term) -> tuple[BinLevel, ...]:
        """The binning of each axis of ``term``'s table."""
        return tuple(self._slots[k][1] for k in term.slots)

    @property
    def base_points(self) -> float:
        return self.scaling.offset - self.scaling.factor * self.intercept

    def log_odds(self, features: Mapping[str, FeatureValue]) -> float:
        """``logit(p_bad)`` for one application."""
        get = features.get
        return self._total([level.index(get(name)) for name, level in self._slots])

    def _total(self, bins: Sequence[int]) -> float:
        total = self.intercept
        for term in self.terms:
            slots = term.slots
            total += term.scores[bins[slots[0]] if len(slots) == 1 else _flat(term, bins)]
        return total

    def score(self, features: Mapping[str, FeatureValue]) -> EbmResult:
        """Score one application. Absent features count as missing; extra keys are ignored."""
        get = features.get
        values = tuple([get(name) for name, _ in self._slots])
        bins = tuple([level.index(v) for (_, level), v in zip(self._slots, values, strict=True)])
        total = self._total(bins)
        score = round(self.scaling.offset - self.scaling.factor * total)
        return EbmResult(score, _sigmoid(total), total, self, values, bins)

    def explain_bins(
        self, values: Sequence[FeatureValue], bins: Sequence[int]
    ) -> tuple[TermContribution, ...]:
        """Per-term contributions for the slot values and bins of one scored application."""
        contributions: list[TermContribution] = []
        append = contributions.append
        for term in self.terms:
            slots = term.slots
            if len(slots) == 1:
                k = slots[0]
                i = bins[k]
                value: FeatureValue | tuple[FeatureValue, ...] = values[k]
            else:
                i = _flat(term, bins)
                value = tuple([values[k] for k in slots])
            append(
                TermContribution(
                    term.name, value, term.cell_labels[i], term.points[i], term.max_points, term.scores[i]
                )
            )
        return tuple(contributions)

    def grade(self, score: int) -> str | None:
        for band in self.score_bands:
            if band.contains(score):
                return band.grade
        return None


def _flat(term: Term, bins: Sequence[int]) -> int:
    slots = term.slots
    if len(slots) == 1:
        return bins[slots[0]]
    i = 0
    for k, stride in zip(slots, term.strides, strict=True):
        i += bins[k] * stride
    return i


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
