"""Scorecard monitoring: score PSI, feature CSI, approval / rule-hit rates, KS and Gini on matured rows.

Pure Python (no numpy): input is any iterable of plain records (``Mapping[str, object]``), such as the
rows of a CSV file or stored decisions, so the origination side can feed it from the database.

* PSI / CSI = Σ (actual − expected) · ln(actual / expected) over the bins of the development sample
  (score deciles and each feature's bins, as stored in the artefact). Shares are floored at
  :data:`EPSILON` so empty bins do not give infinities.
* Status per index: ``ok`` below 0.1, ``warn`` from 0.1, ``alert`` from 0.25 (configurable).
* KS and Gini on *matured* records: those whose outcome field holds a value (the rest are ignored).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lendcore.core.errors import ValidationError
from lendcore.risk.ebm import EbmModel
from lendcore.risk.scorecard import Scorecard, category_key, is_missing

#: Any model artefact with development distributions (scorecard or EBM): monitoring reads only
#: ``features`` (``name``, ``assign``), ``score``, the development distributions and metrics.
MonitoredModel = Scorecard | EbmModel

EPSILON = 1e-4


@dataclass(frozen=True, slots=True)
class Thresholds:
    warn: float = 0.1
    alert: float = 0.25

    def status(self, value: float) -> str:
        if value >= self.alert:
            return "alert"
        if value >= self.warn:
            return "warn"
        return "ok"


@dataclass(frozen=True, slots=True)
class BinShift:
    label: str
    expected: float
    actual: float
    contribution: float


@dataclass(frozen=True, slots=True)
class StabilityIndex:
    name: str  # "score" or the feature name
    value: float
    status: str
    bins: tuple[BinShift, ...]


@dataclass(frozen=True, slots=True)
class MonitoringReport:
    model_id: str
    model_version: str
    n_records: int
    score_psi: StabilityIndex | None
    feature_csi: tuple[StabilityIndex, ...]
    mean_score: float | None
    dev_mean_score: float | None
    approval_rate: float | None
    n_decisions: int
    rule_hit_rates: Mapping[str, float]
    n_matured: int
    matured_bad_rate: float | None
    ks: float | None
    gini: float | None
    auc: float | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def has_alert(self) -> bool:
        return (self.score_psi is not None and self.score_psi.status == "alert") or any(
            c.status == "alert" for c in self.feature_csi
        )

    def to_dict(self) -> dict[str, Any]:
        def idx(s: StabilityIndex) -> dict[str, Any]:
            return {
                "name": s.name,
                "value": round(s.value, 6),
                "status": s.status,
                "bins": [
                    {
                        "label": b.label,
                        "expected": round(b.expected, 6),
                        "actual": round(b.actual, 6),
                        "contribution": round(b.contribution, 6),
                    }
                    for b in s.bins
                ],
            }

        return {
            "model_id": self.model_id,
            "model_version": self.model_version,
            "n_records": self.n_records,
            "score_psi": idx(self.score_psi) if self.score_psi else None,
            "feature_csi": [idx(c) for c in self.feature_csi],
            "mean_score": self.mean_score,
            "dev_mean_score": self.dev_mean_score,
            "approval_rate": self.approval_rate,
            "n_decisions": self.n_decisions,
            "rule_hit_rates": dict(self.rule_hit_rates),
            "n_matured": self.n_matured,
            "matured_bad_rate": self.matured_bad_rate,
            "ks": self.ks,
            "gini": self.gini,
            "auc": self.auc,
            "warnings": list(self.warnings),
            "has_alert": self.has_alert,
        }


def stability_index(
    name: str,
    expected: Mapping[str, float],
    actual_counts: Mapping[str, int],
    thresholds: Thresholds = Thresholds(),
    epsilon: float = EPSILON,
) -> StabilityIndex:
    """PSI/CSI of observed counts against expected shares (bins = union of both key sets)."""
    total = sum(actual_counts.values())
    labels = list(expected) + [k for k in actual_counts if k not in expected]
    bins: list[BinShift] = []
    value = 0.0
    for label in labels:
        e = expected.get(label, 0.0)
        a = actual_counts.get(label, 0) / total if total else 0.0
        ef, af = max(e, epsilon), max(a, epsilon)
        contribution = (af - ef) * math.log(af / ef)
        value += contribution
        bins.append(BinShift(label, e, a, contribution))
    return StabilityIndex(name, value, thresholds.status(value), tuple(bins))


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = EPSILON) -> float:
    """Population stability index between two share vectors over the same bins."""
    if len(expected) != len(actual):
        raise ValueError("expected and actual need the same bins")
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        ef, af = max(e, epsilon), max(a, epsilon)
        total += (af - ef) * math.log(af / ef)
    return total


def auc_of_scores(bad: Sequence[int], scores: Sequence[float]) -> float:
    """ROC AUC of a score where a lower score means riskier (Mann-Whitney with ties counted half)."""
    pairs = sorted(zip(scores, bad, strict=True))
    n_bad = sum(bad)
    n_good = len(bad) - n_bad
    if n_bad == 0 or n_good == 0:
        raise ValueError("need both goods and bads")
    # rank-sum of goods over average ranks
    rank_sum_good = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg_rank = (i + 1 + j) / 2
        rank_sum_good += avg_rank * sum(1 for k in range(i, j) if not pairs[k][1])
        i = j
    return (rank_sum_good - n_good * (n_good + 1) / 2) / (n_good * n_bad)


def ks_of_scores(bad: Sequence[int], scores: Sequence[float]) -> float:
    """Maximum distance between the cumulative score distributions of bads and goods."""
    n_bad = sum(bad)
    n_good = len(bad) - n_bad
    if n_bad == 0 or n_good == 0:
        raise ValueError("need both goods and bads")
    pairs = sorted(zip(scores, bad, strict=True))
    cb = cg = 0
    best = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            cb += pairs[j][1]
            cg += 1 - pairs[j][1]
            j += 1
        best = max(best, abs(cb / n_bad - cg / n_good))
        i = j
    return best


def _score_bins(card: MonitoredModel) -> list[str]:
    dist = card.dev_score_distribution
    assert dist is not None
    edges = dist.edges
    labels = []
    for i in range(len(edges) + 1):
        lo = "-inf" if i == 0 else f"{edges[i - 1]:g}"
        hi = "inf" if i == len(edges) else f"{edges[i]:g}"
        labels.append(f"[{lo}, {hi})")
    return labels


def _hits(value: object) -> list[str]:
    if is_missing(value):
        return []
    if isinstance(value, str):
        return [h.strip() for h in value.replace(",", ";").split(";") if h.strip()]
    if isinstance(value, Iterable):
        return [str(h) for h in value]
    return [str(value)]


def monitor(
    scorecard: MonitoredModel,
    records: Iterable[Mapping[str, Any]],
    *,
    outcome_field: str | None = None,
    bad_value: object | None = None,
    score_field: str | None = None,
    decision_field: str = "decision",
    approve_values: Sequence[str] = ("approve", "approved", "accept", "1", "True"),
    rule_hits_field: str = "rule_hits",
    thresholds: Thresholds = Thresholds(),
) -> MonitoringReport:
    """Compare recent ``records`` with the development sample stored in ``scorecard``.

    Each record holds the model's features (by name). Optional fields: ``outcome_field`` (default the
    card's target; a missing value means not matured yet), ``score_field`` (use a stored score
    instead of rescoring), ``decision_field`` (approval rate) and ``rule_hits_field`` (a list, or text
    separated by ``;`` or ``,``).
    """
    tally = _Tally(
        scorecard,
        outcome=outcome_field or scorecard.target,
        bad=category_key(bad_value if bad_value is not None else scorecard.bad_value),
        score_field=score_field,
        decision_field=decision_field,
        approve_values=frozenset(v.lower() for v in approve_values),
        rule_hits_field=rule_hits_field,
    )
    for record in records:
        tally.add(record)
    n = len(tally.scores)
    if n == 0:
        raise ValidationError("no records to monitor", code="EMPTY_DATA")

    warnings: list[str] = []
    score_psi = _score_psi(scorecard, tally, thresholds, warnings)
    csi = _feature_csi(scorecard, tally, thresholds, warnings)
    dev_mean_metric = scorecard.metrics.get("dev_mean_score")
    dev_mean = float(dev_mean_metric) if isinstance(dev_mean_metric, (int, float)) else None
    ks, gini, auc = _discrimination(tally.matured_bad, tally.matured_scores, warnings)
    matured_bad = tally.matured_bad
    return MonitoringReport(
        model_id=scorecard.model_id,
        model_version=scorecard.version,
        n_records=n,
        score_psi=score_psi,
        feature_csi=tuple(csi),
        mean_score=sum(tally.scores) / n,
        dev_mean_score=dev_mean,
        approval_rate=tally.n_approved / tally.n_decisions if tally.n_decisions else None,
        n_decisions=tally.n_decisions,
        rule_hit_rates={k: v / tally.n_decisions for k, v in sorted(tally.rule_counts.items())},
        n_matured=len(matured_bad),
        matured_bad_rate=sum(matured_bad) / len(matured_bad) if matured_bad else None,
        ks=ks,
        gini=gini,
        auc=auc,
        warnings=tuple(warnings),
    )


class _Tally:
    """What one pass over the records counts (private to :func:`monitor`, mutated as it reads)."""

    def __init__(
        self,
        scorecard: MonitoredModel,
        *,
        outcome: str,
        bad: str,
        score_field: str | None,
        decision_field: str,
        approve_values: frozenset[str],
        rule_hits_field: str,
    ) -> None:
        self.scorecard = scorecard
        self.outcome, self.bad = outcome, bad
        self.score_field = score_field
        self.decision_field, self.approve_values = decision_field, approve_values
        self.rule_hits_field = rule_hits_field
        self.labels = _score_bins(scorecard) if scorecard.dev_score_distribution else []
        self.score_counts: Counter[str] = Counter()
        self.feature_counts: dict[str, Counter[str]] = {f.name: Counter() for f in scorecard.features}
        self.scores: list[int] = []
        self.matured_scores: list[int] = []
        self.matured_bad: list[int] = []
        self.n_decisions = self.n_approved = 0
        self.rule_counts: Counter[str] = Counter()

    def add(self, record: Mapping[str, Any]) -> None:
        for feature in self.scorecard.features:
            label, _ = feature.assign(record.get(feature.name))
            self.feature_counts[feature.name][label] += 1
        score = self._score(record)
        self.scores.append(score)
        dist = self.scorecard.dev_score_distribution
        if dist:
            self.score_counts[self.labels[dist.bin_index(score)]] += 1
        if self.outcome in record and not is_missing(record[self.outcome]):
            self.matured_scores.append(score)
            self.matured_bad.append(1 if category_key(record[self.outcome]) == self.bad else 0)
        if self.decision_field in record and not is_missing(record[self.decision_field]):
            self.n_decisions += 1
            if category_key(record[self.decision_field]).lower() in self.approve_values:
                self.n_approved += 1
            for hit in set(_hits(record.get(self.rule_hits_field))):
                self.rule_counts[hit] += 1

    def _score(self, record: Mapping[str, Any]) -> int:
        """The record's stored score when ``score_field`` holds one, else the model's score."""
        stored = record.get(self.score_field) if self.score_field else None
        if not self.score_field or is_missing(stored):
            return self.scorecard.score(record).score
        try:
            return round(float(str(stored)))
        except ValueError as exc:
            raise ValidationError(
                f"record {len(self.scores) + 1}: score {stored!r} is not a number", code="INVALID_SCORE"
            ) from exc


def _score_psi(
    scorecard: MonitoredModel, tally: _Tally, thresholds: Thresholds, warnings: list[str]
) -> StabilityIndex | None:
    dist = scorecard.dev_score_distribution
    if not dist:
        warnings.append("the model has no development score distribution: PSI not computed")
        return None
    expected = dict(zip(tally.labels, dist.shares, strict=True))
    score_psi = stability_index("score", expected, tally.score_counts, thresholds)
    if score_psi.status != "ok":
        warnings.append(f"score PSI {score_psi.value:.3f} ({score_psi.status})")
    return score_psi


def _feature_csi(
    scorecard: MonitoredModel, tally: _Tally, thresholds: Thresholds, warnings: list[str]
) -> list[StabilityIndex]:
    """CSI of each feature with a development distribution (the others are skipped)."""
    csi: list[StabilityIndex] = []
    for feature in scorecard.features:
        exp = scorecard.dev_feature_distributions.get(feature.name)
        if not exp:
            continue
        index = stability_index(feature.name, exp, tally.feature_counts[feature.name], thresholds)
        csi.append(index)
        if index.status != "ok":
            warnings.append(f"{feature.name} CSI {index.value:.3f} ({index.status})")
    return csi


def _discrimination(
    matured_bad: Sequence[int], matured_scores: Sequence[int], warnings: list[str]
) -> tuple[float | None, float | None, float | None]:
    """KS, Gini and AUC on matured records; none unless both classes are present."""
    if not matured_bad:
        return None, None, None
    if not 0 < sum(matured_bad) < len(matured_bad):
        warnings.append("matured records hold only one class: KS and Gini not computed")
        return None, None, None
    auc = auc_of_scores(matured_bad, matured_scores)
    return ks_of_scores(matured_bad, matured_scores), 2 * auc - 1, auc
