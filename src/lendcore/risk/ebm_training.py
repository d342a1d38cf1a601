"""EBM development: the same screening and fold-honest CV as the scorecard, exported to ``lendcore.ebm/1``.

Model development only (``lendcore risk train --model ebm``); needs the ``risk`` extra
(interpret-core, scikit-learn, pandas, numpy). Never imported on the request path.

Pipeline (:func:`train_ebm`):

1. :func:`lendcore.risk.screening.prepare`: target checks and column screening, exactly as for the
   scorecard (same exclusions, same reasons).
2. Stratified k-fold CV with the scorecard's folds (same seed, so the two families are compared on
   the same held-out rows): in each fold interpret's ``ExplainableBoostingClassifier`` is fitted on
   the training rows only (its early-stopping split comes out of them), exported, and the held-out
   rows are scored by the plain-Python scorer (:class:`lendcore.risk.ebm.EbmModel`): CV measures
   what ships. AUC and KS are computed on the probability of bad.
3. Final fit on all rows; export with score bands and development distributions.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lendcore.core.errors import ValidationError
from lendcore.risk.ebm import FORMAT_ID, EbmModel
from lendcore.risk.ebm_artefact import parse_ebm
from lendcore.risk.evaluation import auc, bands, feature_distributions, ks_statistic, score_distribution
from lendcore.risk.screening import ColumnReport, prepare, records
from lendcore.risk.training import TrainingConfig

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


#: The metrics copied into the artefact itself (the rest go to ``metrics.json``).
ARTEFACT_METRICS = (
    "model",
    "cv_auc",
    "cv_auc_std",
    "gini",
    "ks",
    "train_auc",
    "dev_mean_score",
    "n_rows",
    "bad_rate",
    "folds",
    "seed",
)


@dataclass(frozen=True, slots=True)
class EbmConfig:
    """interpret's knobs that matter here. The defaults are measured in ``benchmarks/bench_models.py``:
    a few interactions, coarse bins (a small artefact, smooth shapes), 8 bags, one core."""

    interactions: int = 5
    max_bins: int = 32
    max_interaction_bins: int = 32
    outer_bags: int = 8
    learning_rate: float = 0.04
    max_rounds: int = 5000
    early_stopping_rounds: int = 100
    min_samples_leaf: int = 4
    n_jobs: int = 1

    def __post_init__(self) -> None:
        checks = (
            (self.interactions >= 0, "interactions must be ≥ 0"),
            (self.max_bins >= 3 and self.max_interaction_bins >= 3, "bins must be ≥ 3"),
            (self.outer_bags >= 1 and self.max_rounds >= 1, "bags and rounds must be ≥ 1"),
            (0 < self.learning_rate <= 1, "learning rate must be in (0, 1]"),
            (self.n_jobs != 0, "n_jobs must not be 0"),
        )
        for ok, message in checks:
            if not ok:
                raise ValidationError(f"EBM configuration: {message}", code="INVALID_EBM_CONFIG")


@dataclass(slots=True)
class EbmTrainingResult:
    artefact: dict[str, Any]
    model: EbmModel
    metrics: dict[str, Any]
    columns: list[ColumnReport]
    #: Out-of-fold scores, probabilities and labels (1 = bad), in row order.
    oof_scores: list[int]
    oof_probability: list[float]
    y: list[int]
    dev_scores: list[int]
    #: (term name, mean |log-odds| over the development rows), most important first
    term_importances: list[tuple[str, float]]
    dropped_target_rows: int = 0
    frame: Any = None  # the screened, typed feature frame
    estimator: Any = None  # the final interpret ExplainableBoostingClassifier
    kind: str = "ebm"


def estimator(kinds: Mapping[str, str], names: Sequence[str], ebm: EbmConfig, seed: int) -> Any:
    from interpret.glassbox import ExplainableBoostingClassifier

    return ExplainableBoostingClassifier(
        feature_names=list(names),
        feature_types=["continuous" if kinds[n] == "numerical" else "nominal" for n in names],
        interactions=ebm.interactions,
        max_bins=ebm.max_bins,
        max_interaction_bins=ebm.max_interaction_bins,
        outer_bags=ebm.outer_bags,
        learning_rate=ebm.learning_rate,
        max_rounds=ebm.max_rounds,
        early_stopping_rounds=ebm.early_stopping_rounds,
        min_samples_leaf=ebm.min_samples_leaf,
        n_jobs=ebm.n_jobs,
        random_state=seed,
    )


def _fit(feats: pd.DataFrame, y: np.ndarray, kinds: Mapping[str, str], ebm: EbmConfig, seed: int) -> Any:
    model = estimator(kinds, list(feats.columns), ebm, seed)
    with warnings.catch_warnings():
        # "Missing values detected": the artefact keeps each term's missing bin, nothing to warn about
        warnings.filterwarnings("ignore", module="interpret")
        model.fit(feats, y)
    return model


def export_ebm(
    model: Any,
    kinds: Mapping[str, str],
    config: TrainingConfig,
    *,
    model_id: str,
    version: str,
    target: str,
    bad_value: str,
) -> dict[str, Any]:
    """The ``lendcore.ebm/1`` artefact of a fitted binary ``ExplainableBoostingClassifier``.

    Copies interpret's ``bins_``, ``term_features_``, ``term_scores_``, ``intercept_`` and ``link_``
    (class 1 = bad, so scores are log-odds of bad); a pair term uses resolution level
    ``min(levels, 2) − 1`` of each feature, as interpret does.
    """
    if getattr(model, "link_", None) != "logit" or [int(c) for c in model.classes_] != [0, 1]:
        raise ValidationError("only binary logit EBMs with classes 0/1 can be exported", code="EBM_EXPORT")
    names = [str(n) for n in model.feature_names_in_]
    features: list[dict[str, Any]] = []
    for name, levels in zip(names, model.bins_, strict=True):
        if kinds[name] == "numerical":
            features.append(
                {"name": name, "kind": "numerical", "levels": [[float(c) for c in lv] for lv in levels]}
            )
        else:
            features.append(
                {
                    "name": name,
                    "kind": "categorical",
                    "levels": [{str(k): int(v) for k, v in lv.items()} for lv in levels],
                }
            )
    terms: list[dict[str, Any]] = []
    for term_name, idxs, scores in zip(
        model.term_names_, model.term_features_, model.term_scores_, strict=True
    ):
        terms.append(
            {
                "name": str(term_name),
                "features": [names[i] for i in idxs],
                "levels": [min(len(model.bins_[i]), len(idxs)) - 1 for i in idxs],
                "scores": scores.tolist(),
            }
        )
    return {
        "format": FORMAT_ID,
        "model_id": model_id,
        "version": version,
        "trained_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "target": target,
        "bad_value": bad_value,
        "link": "logit",
        "intercept": float(model.intercept_[0]),
        "scaling": {"pdo": config.pdo, "base_score": config.base_score, "base_odds": config.base_odds},
        "features": features,
        "terms": terms,
    }


def train_ebm(
    df: pd.DataFrame,
    target: str,
    bad_value: object | None = None,
    *,
    config: TrainingConfig | None = None,
    ebm: EbmConfig | None = None,
    model_id: str = "ebm",
    version: str = "1",
    exclude: Sequence[str] = (),
    keep: Sequence[str] = (),
    categorical: Sequence[str] = (),
    data_source: str = "",
) -> EbmTrainingResult:
    """Screen columns, cross-validate, fit on all rows and export a ``lendcore.ebm/1`` artefact."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    config = config or TrainingConfig()
    ebm = ebm or EbmConfig()
    data = prepare(df, target, bad_value, config, exclude=exclude, keep=keep, categorical=categorical)
    feats, y, kinds = data.frame, data.y, data.kinds
    meta = {"model_id": model_id, "version": version, "target": target, "bad_value": data.bad_value}

    oof_scores = np.zeros(len(y), dtype=np.int64)
    oof_prob = np.zeros(len(y), dtype=float)
    fold_auc: list[float] = []
    fold_ks: list[float] = []
    skf = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    for train_idx, test_idx in skf.split(feats, y):
        fitted = _fit(feats.iloc[train_idx], y[train_idx], kinds, ebm, config.seed)
        scorer = parse_ebm(export_ebm(fitted, kinds, config, **meta))
        results = [scorer.score(r) for r in records(feats.iloc[test_idx])]
        p = np.asarray([r.probability_bad for r in results])
        oof_scores[test_idx] = [r.score for r in results]
        oof_prob[test_idx] = p
        fold_auc.append(auc(y[test_idx], -p))
        fold_ks.append(ks_statistic(y[test_idx], -p))

    final = _fit(feats, y, kinds, ebm, config.seed)
    artefact = export_ebm(final, kinds, config, **meta)
    base = parse_ebm(artefact)
    rows = records(feats)
    dev = [base.score(r) for r in rows]
    dev_scores = [r.score for r in dev]
    dev_prob = np.asarray([r.probability_bad for r in dev])
    artefact["score_bands"] = bands(dev_scores, y.tolist())
    artefact["dev_distribution"] = {
        "score": score_distribution(dev_scores, config.score_bins),
        "features": feature_distributions(base, rows),
    }
    importances = _importances(base, rows)
    cv_auc = float(np.mean(fold_auc))
    metrics: dict[str, Any] = {
        "model": "ebm",
        "cv_auc": round(cv_auc, 6),
        "cv_auc_std": round(float(np.std(fold_auc)), 6),
        "gini": round(2 * cv_auc - 1, 6),
        "ks": round(float(np.mean(fold_ks)), 6),
        "cv_fold_auc": [round(a, 6) for a in fold_auc],
        "oof_auc": round(auc(y, -oof_prob), 6),
        "train_auc": round(auc(y, -dev_prob), 6),
        "train_ks": round(ks_statistic(y, -dev_prob), 6),
        "dev_mean_score": round(float(np.mean(dev_scores)), 3),
        "folds": config.folds,
        "seed": config.seed,
        "n_rows": len(y),
        "n_bad": int(y.sum()),
        "bad_rate": round(float(y.mean()), 6),
        "n_features": len(base.features),
        "n_interactions": sum(1 for t in base.terms if len(t.features) > 1),
        "dropped_target_rows": data.dropped_target_rows,
        "data_source": data_source,
    }
    artefact["metrics"] = {k: metrics[k] for k in ARTEFACT_METRICS}
    metrics["terms"] = [{"name": n, "importance": round(v, 6)} for n, v in importances]
    metrics["excluded_columns"] = [
        {"name": c.name, "reason": c.reason, "detail": c.detail} for c in data.columns if c.role == "excluded"
    ]
    metrics["config"] = {
        "pdo": config.pdo,
        "base_score": config.base_score,
        "base_odds": config.base_odds,
        "ebm": {k: getattr(ebm, k) for k in EbmConfig.__dataclass_fields__},
    }
    return EbmTrainingResult(
        artefact=artefact,
        model=parse_ebm(artefact),
        metrics=metrics,
        columns=data.columns,
        oof_scores=[int(s) for s in oof_scores],
        oof_probability=[float(p) for p in oof_prob],
        y=[int(v) for v in y],
        dev_scores=dev_scores,
        term_importances=importances,
        dropped_target_rows=data.dropped_target_rows,
        frame=feats,
        estimator=final,
    )


def _importances(model: EbmModel, rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, float]]:
    """Mean absolute log-odds contribution of each term over the development rows (interpret's
    ``avg_weight`` importance), most important first."""
    totals = dict.fromkeys((t.name for t in model.terms), 0.0)
    for row in rows:
        for c in model.score(row).contributions:
            totals[c.feature] += abs(c.log_odds)
    n = max(len(rows), 1)
    return sorted(((k, v / n) for k, v in totals.items()), key=lambda kv: -kv[1])
