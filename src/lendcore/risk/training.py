"""Scorecard development: column screening, WOE binning + logistic regression, scaling, CV, export.

Model development only (``lendcore risk train``); never imported on the request path. It needs the
``risk`` extra (optbinning, scikit-learn, pandas, numpy).

Pipeline (:func:`train_scorecard`):

1. Target checks (column present, binary, bad value present, enough bads and goods); rows without a
   target are dropped and counted.
2. Column screening (:mod:`lendcore.risk.screening`, shared with the EBM): type inference, then
   exclusion of constant, id-like, high-cardinality text and leakage-prone columns.
3. Stratified k-fold CV (fixed seed): in each fold the binning (optbinning ``BinningProcess``,
   optimal monotonic bins, IV selection) and the logistic regression are fitted on the training
   fold only; the fold's card is exported to the artefact format and the held-out rows are scored by
   the plain-Python scorer, so CV measures exactly what ships.
4. Final fit on all rows, export with the development-sample score and feature-bin distributions.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lendcore.core.errors import ValidationError
from lendcore.risk.evaluation import auc, bands, feature_distributions, ks_statistic, score_distribution
from lendcore.risk.scorecard import FORMAT_ID, Scorecard, parse_scorecard
from lendcore.risk.screening import ColumnReport, infer_columns, prepare, records

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "ColumnReport",
    "TrainingConfig",
    "TrainingResult",
    "infer_columns",
    "ks_statistic",
    "pipeline_scores",
    "train_scorecard",
]


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    pdo: float = 20.0
    base_score: float = 600.0
    base_odds: float = 50.0
    min_iv: float = 0.02
    max_n_bins: int = 5
    #: Inverse L2 strength of the logistic regression (WOE inputs are on one scale).
    c: float = 0.05
    folds: int = 5
    seed: int = 0
    #: A single column with ROC AUC at or above this is reported as leakage and excluded.
    leakage_auc: float = 0.9
    #: Categorical columns with more distinct values than this share of rows are excluded.
    max_category_share: float = 0.5
    min_class_count: int = 20
    score_bins: int = 10
    drop_wrong_sign: bool = True


@dataclass(slots=True)
class TrainingResult:
    artefact: dict[str, Any]
    scorecard: Scorecard
    metrics: dict[str, Any]
    columns: list[ColumnReport]
    iv_table: list[dict[str, Any]]
    #: Out-of-fold scores, probabilities and labels (1 = bad), in row order.
    oof_scores: list[int]
    oof_probability: list[float]
    y: list[int]
    #: Full-fit (development) scores of every row.
    dev_scores: list[int]
    dropped_target_rows: int = 0
    wrong_sign_dropped: list[str] = field(default_factory=list)
    #: The screened, typed feature frame and the final fit (for :func:`pipeline_scores`).
    frame: Any = None
    fit: Any = None
    kind: str = "scorecard"


# --- fitting one card ---------------------------------------------------------------------------
@dataclass(slots=True)
class _Fit:
    features: list[str]
    kinds: dict[str, str]
    binning: Any  # optbinning.BinningProcess
    coef: dict[str, float]
    intercept: float
    iv: dict[str, float]
    selected: list[str]
    wrong_sign_dropped: list[str]


def _fit(feats: pd.DataFrame, y: np.ndarray, kinds: Mapping[str, str], config: TrainingConfig) -> _Fit:
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    names = list(feats.columns)
    cats = [n for n in names if kinds[n] == "categorical"]
    bp = BinningProcess(
        names,
        categorical_variables=cats or None,
        max_n_bins=config.max_n_bins,
        selection_criteria={"iv": {"min": config.min_iv}},
    )
    bp.fit(feats, y)
    summary = bp.summary()
    iv = {str(r["name"]): float(r["iv"]) for _, r in summary.iterrows()}
    selected = [str(s) for s in bp.get_support(names=True)]
    if not selected:
        raise ValidationError(
            f"no column reaches the minimum information value {config.min_iv}: nothing to score with",
            code="NO_PREDICTIVE_FEATURES",
        )
    woe = bp.transform(feats, metric="woe", metric_missing="empirical")
    used = list(selected)
    dropped: list[str] = []
    while True:
        lr = LogisticRegression(C=config.c, max_iter=2000)
        lr.fit(woe[used].to_numpy(), y)
        coefs = dict(zip(used, (float(c) for c in lr.coef_[0]), strict=True))
        # WoE is ln(%good / %bad): a predictive feature must get a negative coefficient for "bad".
        wrong = [n for n in used if coefs[n] > 0]
        if not config.drop_wrong_sign or not wrong or len(used) == 1:
            break
        worst = max(wrong, key=lambda n: coefs[n])
        used.remove(worst)
        dropped.append(worst)
    return _Fit(used, dict(kinds), bp, coefs, float(lr.intercept_[0]), iv, selected, dropped)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _export(
    fit: _Fit,
    config: TrainingConfig,
    *,
    model_id: str,
    version: str,
    target: str,
    bad_value: str,
) -> dict[str, Any]:
    import numpy as np

    factor = config.pdo / math.log(2.0)
    offset = config.base_score - factor * math.log(config.base_odds)

    def pts(name: str, woe: float) -> int:
        return round(-factor * fit.coef[name] * woe) + 0  # +0 turns -0 into 0

    features: list[dict[str, Any]] = []
    for name in fit.features:
        ob = fit.binning.get_binned_variable(name)
        table = ob.binning_table.build()
        woes = [float(w) for w in table["WoE"].iloc[:-1]]  # drop the Totals row
        missing_woe = float(
            ob.transform(
                np.array([np.nan], dtype=object if fit.kinds[name] == "categorical" else float),
                metric="woe",
                metric_missing="empirical",
            )[0]
        )
        if fit.kinds[name] == "numerical":
            splits = [float(s) for s in ob.splits]
            bounds = [-math.inf, *splits, math.inf]
            bins = []
            for i in range(len(splits) + 1):
                lo, hi = bounds[i], bounds[i + 1]
                label = f"[{_fmt(lo)}, {_fmt(hi)})" if i else f"(-inf, {_fmt(hi)})"
                upper = None if i == len(splits) else hi
                bins.append({"upper": upper, "points": pts(name, woes[i]), "label": label})
            features.append(
                {
                    "name": name,
                    "kind": "numerical",
                    "bins": bins,
                    "missing_points": pts(name, missing_woe),
                }
            )
        else:
            other_woe = float(ob.transform(np.array(["\x00unseen\x00"], dtype=object), metric="woe")[0])
            cbins = []
            for i, cats in enumerate(ob.splits):
                categories = [str(c) for c in cats]
                cbins.append(
                    {"categories": categories, "points": pts(name, woes[i]), "label": ", ".join(categories)}
                )
            features.append(
                {
                    "name": name,
                    "kind": "categorical",
                    "bins": cbins,
                    "other_points": pts(name, other_woe),
                    "missing_points": pts(name, missing_woe),
                }
            )
    return {
        "format": FORMAT_ID,
        "model_id": model_id,
        "version": version,
        "trained_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "target": target,
        "bad_value": bad_value,
        "scaling": {"pdo": config.pdo, "base_score": config.base_score, "base_odds": config.base_odds},
        "base_points": round(offset - factor * fit.intercept),
        "features": features,
    }


def train_scorecard(
    df: pd.DataFrame,
    target: str,
    bad_value: object | None = None,
    **kwargs: Any,
) -> TrainingResult:
    """Screen columns, cross-validate, fit on all rows and export a ``lendcore.scorecard/1`` card.

    Keyword arguments: ``config`` (:class:`TrainingConfig`), ``model_id``, ``version``, ``exclude``
    and ``keep`` (column names overriding the screening), ``categorical`` (force a column's kind),
    ``data_source`` (text for the model card).
    """
    with warnings.catch_warnings():
        # optbinning trips pandas deprecation warnings that say nothing about the user's data
        warnings.filterwarnings("ignore", module="optbinning")
        return _train(df, target, bad_value, **kwargs)


def _train(
    df: pd.DataFrame,
    target: str,
    bad_value: object | None = None,
    *,
    config: TrainingConfig | None = None,
    model_id: str = "scorecard",
    version: str = "1",
    exclude: Sequence[str] = (),
    keep: Sequence[str] = (),
    categorical: Sequence[str] = (),
    data_source: str = "",
) -> TrainingResult:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    config = config or TrainingConfig()
    data = prepare(df, target, bad_value, config, exclude=exclude, keep=keep, categorical=categorical)
    feats, y, bad, columns = data.frame, data.y, data.bad_value, data.columns
    dropped = data.dropped_target_rows
    kinds = data.kinds

    # --- cross-validation: every supervised step on the training fold only ---
    oof_scores = np.zeros(len(y), dtype=np.int64)
    oof_prob = np.zeros(len(y), dtype=float)
    fold_auc: list[float] = []
    fold_ks: list[float] = []
    skf = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    for train_idx, test_idx in skf.split(feats, y):
        fit = _fit(feats.iloc[train_idx], y[train_idx], kinds, config)
        card = parse_scorecard(
            _export(fit, config, model_id=model_id, version=version, target=target, bad_value=bad)
        )
        results = [card.score(r) for r in records(feats.iloc[test_idx])]
        s = [r.score for r in results]
        oof_scores[test_idx] = s
        oof_prob[test_idx] = [r.probability_bad for r in results]
        fold_auc.append(auc(y[test_idx], s))
        fold_ks.append(ks_statistic(y[test_idx], s))

    # --- final fit on all rows ---
    fit = _fit(feats, y, kinds, config)
    artefact = _export(fit, config, model_id=model_id, version=version, target=target, bad_value=bad)
    base_card = parse_scorecard(artefact)
    rows = records(feats)
    dev_scores = [base_card.score(r).score for r in rows]
    artefact["score_bands"] = bands(dev_scores, y.tolist())
    artefact["dev_distribution"] = {
        "score": score_distribution(dev_scores, config.score_bins),
        "features": feature_distributions(base_card, rows),
    }
    cv_auc = float(np.mean(fold_auc))
    iv_table = [
        {
            "name": name,
            "kind": kinds[name],
            "iv": round(fit.iv[name], 6),
            "selected": name in fit.features,
            "n_bins": len(fit.binning.get_binned_variable(name).splits)
            + (1 if kinds[name] == "numerical" else 0),
        }
        for name in sorted(kinds, key=lambda n: -fit.iv.get(n, 0.0))
    ]
    metrics: dict[str, Any] = {
        "model": "scorecard",
        "cv_auc": round(cv_auc, 6),
        "cv_auc_std": round(float(np.std(fold_auc)), 6),
        "gini": round(2 * cv_auc - 1, 6),
        "ks": round(float(np.mean(fold_ks)), 6),
        "cv_fold_auc": [round(a, 6) for a in fold_auc],
        "oof_auc": round(auc(y, oof_scores), 6),
        "train_auc": round(auc(y, dev_scores), 6),
        "train_ks": round(ks_statistic(y, dev_scores), 6),
        "dev_mean_score": round(float(np.mean(dev_scores)), 3),
        "folds": config.folds,
        "seed": config.seed,
        "n_rows": len(y),
        "n_bad": int(y.sum()),
        "bad_rate": round(float(y.mean()), 6),
        "n_features": len(fit.features),
        "dropped_target_rows": dropped,
        "data_source": data_source,
    }
    artefact["metrics"] = {
        k: metrics[k]
        for k in (
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
    }
    metrics["iv"] = iv_table
    metrics["excluded_columns"] = [
        {"name": c.name, "reason": c.reason, "detail": c.detail} for c in columns if c.role == "excluded"
    ]
    metrics["wrong_sign_dropped"] = fit.wrong_sign_dropped
    metrics["config"] = {
        "pdo": config.pdo,
        "base_score": config.base_score,
        "base_odds": config.base_odds,
        "min_iv": config.min_iv,
        "max_n_bins": config.max_n_bins,
        "c": config.c,
    }
    return TrainingResult(
        artefact=artefact,
        scorecard=parse_scorecard(artefact),
        metrics=metrics,
        columns=columns,
        iv_table=iv_table,
        oof_scores=[int(s) for s in oof_scores],
        oof_probability=[float(p) for p in oof_prob],
        y=[int(v) for v in y],
        dev_scores=dev_scores,
        dropped_target_rows=dropped,
        wrong_sign_dropped=fit.wrong_sign_dropped,
        frame=feats,
        fit=fit,
    )


def pipeline_scores(result: TrainingResult, config: TrainingConfig | None = None) -> np.ndarray:
    """Development scores computed the training way (optbinning WOE transform × coefficients).

    Independent of the exported bins, so comparing it with the plain-Python scorer checks the export.
    """
    import numpy as np

    config = config or TrainingConfig()
    result_fit: _Fit = result.fit
    feats: pd.DataFrame = result.frame
    factor = config.pdo / math.log(2.0)
    offset = config.base_score - factor * math.log(config.base_odds)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="optbinning")
        woe = result_fit.binning.transform(feats, metric="woe", metric_missing="empirical")
    total = np.full(len(feats), round(offset - factor * result_fit.intercept), dtype=np.int64)
    for name in result_fit.features:
        total += np.rint(-factor * result_fit.coef[name] * woe[name].to_numpy()).astype(np.int64)
    return total
