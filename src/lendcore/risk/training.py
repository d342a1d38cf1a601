"""Scorecard development: column screening, WOE binning + logistic regression, scaling, CV, export.

Model development only (``lendcore risk train``); never imported on the request path. It needs the
``risk`` extra (optbinning, scikit-learn, pandas, numpy).

Pipeline (:func:`train_scorecard`):

1. Target checks (column present, binary, bad value present, enough bads and goods); rows without a
   target are dropped and counted.
2. Column screening: type inference (numeric, numeric text, categorical; 2-level integer flags are
   categorical), then exclusion of constant, id-like (one distinct value per row), high-cardinality
   text, and leakage-prone columns (post-outcome or pricing names such as ``loan_status``,
   ``int_rate``, ``sub_grade``; or a single column separating goods from bads almost perfectly).
3. Stratified k-fold CV (fixed seed): in each fold the binning (optbinning ``BinningProcess``,
   optimal monotonic bins, IV selection) and the logistic regression are fitted on the training
   fold only; the fold's card is exported to the artefact format and the held-out rows are scored by
   the plain-Python scorer, so CV measures exactly what ships.
4. Final fit on all rows, export with the development-sample score and feature-bin distributions.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lendcore.core.errors import ValidationError
from lendcore.risk.scorecard import (
    FORMAT_ID,
    MISSING_LABEL,
    Scorecard,
    bands_from_cutoffs,
    category_key,
    is_missing,
    parse_scorecard,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import ArrayLike

# Names that describe what happened after the decision, or the lender's own pricing of the risk.
POST_OUTCOME_PATTERNS: tuple[str, ...] = (
    r"^loan_status$",
    r"^status$",
    r"(^|_)recover",
    r"charge_?off",
    r"settlement",
    r"pymnt",
    r"^total_rec_",
    r"^out_prncp",
    r"^last_credit_pull",
    r"hardship",
    r"write_?off",
    r"(^|_)dpd($|_)",
    r"days_past_due",
    r"^collection",
)
PRICING_PATTERNS: tuple[str, ...] = (
    r"^int_rate$",
    r"interest_rate",
    r"^sub_grade$",
    r"^grade$",
    r"^apr$",
    r"^installment$",
)
ID_NAME = re.compile(r"(^|_)(id|no|number|key|uuid)$|^id_|^index$")

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")


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


@dataclass(frozen=True, slots=True)
class ColumnReport:
    name: str
    kind: str  # numerical | categorical
    role: str  # feature | target | excluded
    reason: str = ""  # id | constant | high_cardinality | leakage_name | pricing | leakage_auc | user
    detail: str = ""


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


# --- target -------------------------------------------------------------------------------------
def _resolve_target(
    df: pd.DataFrame, target: str, bad_value: object | None, config: TrainingConfig
) -> tuple[pd.DataFrame, np.ndarray, str, int]:
    import numpy as np

    if target not in df.columns:
        raise ValidationError(
            f"target column {target!r} not in the data (columns: {', '.join(map(str, df.columns))})",
            code="TARGET_NOT_FOUND",
            target=target,
        )
    labels = df[target].map(lambda v: None if is_missing(v) else category_key(v))
    known = labels.notna()
    dropped = int((~known).sum())
    df = df.loc[known].reset_index(drop=True)
    labels = labels[known].reset_index(drop=True)
    values = sorted(set(labels))
    if len(values) != 2:
        shown = ", ".join(values[:10]) + (" …" if len(values) > 10 else "")
        raise ValidationError(
            f"target {target!r} must have exactly two values, found {len(values)}: {shown}",
            code="TARGET_NOT_BINARY",
            values=values[:10],
        )
    if bad_value is None:
        for candidate in ("bad", "1", "Bad", "BAD", "yes", "default", "True"):
            if candidate in values:
                bad = candidate
                break
        else:
            raise ValidationError(
                f"cannot tell which value of {target!r} is bad ({values[0]!r} or {values[1]!r}): "
                "pass --bad VALUE",
                code="BAD_VALUE_REQUIRED",
            )
    else:
        bad = category_key(bad_value)
        if bad not in values:
            raise ValidationError(
                f"bad value {bad!r} does not occur in target {target!r} (values: {', '.join(values)})",
                code="BAD_VALUE_ABSENT",
            )
    y = (labels == bad).to_numpy(dtype=np.int64)
    n_bad = int(y.sum())
    n_good = len(y) - n_bad
    need = max(config.min_class_count, 2 * config.folds)
    if n_bad < need:
        raise ValidationError(
            f"too few bads to train: {n_bad} (need at least {need})", code="TOO_FEW_BADS", n_bad=n_bad
        )
    if n_good < need:
        raise ValidationError(
            f"too few goods to train: {n_good} (need at least {need})", code="TOO_FEW_GOODS"
        )
    return df, y, bad, dropped


# --- column screening ---------------------------------------------------------------------------
def _univariate_auc(col: pd.Series, y: np.ndarray, kind: str) -> float:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if kind == "numerical":
        x = col.astype(float)
        x = x.fillna(x.median() if x.notna().any() else 0.0).to_numpy()
    else:
        keys = col.fillna(MISSING_LABEL).astype(str)
        rates = keys.groupby(keys).transform(lambda s: y[s.index].mean())
        x = rates.to_numpy(dtype=float)
    if np.all(x == x[0]):
        return 0.5
    auc = float(roc_auc_score(y, x))
    return max(auc, 1.0 - auc)


def infer_columns(
    df: pd.DataFrame,
    y: np.ndarray,
    target: str,
    config: TrainingConfig,
    *,
    exclude: Sequence[str] = (),
    keep: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[ColumnReport]]:
    """Infer column kinds and screen out ids, constants and leakage. Returns the typed frame."""
    import pandas as pd

    n = len(df)
    typed: dict[str, pd.Series] = {}
    reports: list[ColumnReport] = []
    for name in df.columns:
        if name == target:
            reports.append(ColumnReport(str(name), "categorical", "target"))
            continue
        col = df[name]
        lname = str(name).lower()
        kind = "categorical"
        if str(name) in categorical or pd.api.types.is_bool_dtype(col):
            kind = "categorical"
        elif pd.api.types.is_numeric_dtype(col):
            kind = "numerical"
        else:
            present = col[col.map(lambda v: not is_missing(v))]
            parsed = pd.to_numeric(present, errors="coerce")
            if len(present) and parsed.notna().mean() >= 0.98:
                kind = "numerical"
                col = pd.to_numeric(col.map(lambda v: None if is_missing(v) else v), errors="coerce")
        if kind == "numerical":
            col = col.astype(float)
            non_null = col.dropna()
            n_unique = non_null.nunique()
            if n_unique == 2 and (non_null % 1 == 0).all() and str(name) not in keep:
                kind = "categorical"  # a 0/1-style flag
        if kind == "categorical":
            col = col.map(lambda v: None if is_missing(v) else category_key(v)).astype(object)
        non_null = col.dropna()
        n_unique = int(non_null.nunique())

        def excluded(reason: str, detail: str, *, _n: str = str(name), _k: str = kind) -> None:
            reports.append(ColumnReport(_n, _k, "excluded", reason, detail))

        if str(name) in exclude:
            excluded("user", "excluded on request")
            continue
        forced = str(name) in keep
        if n_unique <= 1:
            excluded("constant", f"{n_unique} distinct value(s)")
            continue
        integer_like = kind == "numerical" and bool((non_null % 1 == 0).all())
        if not forced and n_unique == n and len(non_null) == n:
            consecutive = integer_like and float(non_null.max() - non_null.min()) == n - 1
            if kind == "categorical" or (integer_like and (ID_NAME.search(lname) or consecutive)):
                excluded("id", "one distinct value per row")
                continue
        if not forced and kind == "categorical" and n_unique > max(20, config.max_category_share * n):
            excluded("high_cardinality", f"{n_unique} distinct values in {n} rows")
            continue
        if not forced and any(re.search(p, lname) for p in POST_OUTCOME_PATTERNS):
            excluded("leakage_name", "name suggests a post-outcome field")
            continue
        if not forced and any(re.search(p, lname) for p in PRICING_PATTERNS):
            excluded("pricing", "the lender's pricing of the risk, decided after the assessment")
            continue
        auc = _univariate_auc(col, y, kind)
        if not forced and auc >= config.leakage_auc:
            excluded("leakage_auc", f"single-column ROC AUC {auc:.3f} ≥ {config.leakage_auc}")
            continue
        typed[str(name)] = col
        reports.append(ColumnReport(str(name), kind, "feature", detail=f"univariate AUC {auc:.3f}"))
    frame = pd.DataFrame(typed, index=df.index)
    return frame, reports


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


def _records(feats: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = feats.to_dict(orient="records")
    return out


def ks_statistic(y: ArrayLike, scores: ArrayLike) -> float:
    """Kolmogorov-Smirnov distance between the score distributions of goods and bads."""
    import numpy as np
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(y), -np.asarray(scores, dtype=float))
    return float(np.max(np.abs(tpr - fpr)))


def _auc(y: ArrayLike, scores: ArrayLike) -> float:
    """ROC AUC of a score where higher = lower risk (so bads should score low)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(y), -np.asarray(scores, dtype=float)))


def _score_distribution(scores: Sequence[int], n_bins: int) -> dict[str, list[float]]:
    import numpy as np

    arr = np.asarray(scores, dtype=float)
    qs = np.quantile(arr, np.linspace(0, 1, n_bins + 1)[1:-1])
    edges = sorted({float(q) for q in qs})
    # right-open bins over integer scores: put edges between integers so ties stay together
    edges = sorted({math.floor(e) + 0.5 for e in edges})
    idx = np.searchsorted(np.asarray(edges), arr, side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return {"edges": edges, "shares": [float(c) / len(arr) for c in counts]}


def _feature_distributions(card: Scorecard, rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    n = len(rows)
    for feature in card.features:
        counts = dict.fromkeys(feature.labels, 0)
        for row in rows:
            label, _ = feature.assign(row.get(feature.name))
            counts[label] += 1
        out[feature.name] = {k: v / n for k, v in counts.items()}
    return out


def _bands(scores: Sequence[int], y: Sequence[int]) -> list[dict[str, Any]]:
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
    if config.folds < 2:
        raise ValidationError("need at least 2 folds", code="INVALID_FOLDS")
    if len(df) == 0:
        raise ValidationError("the data set has no rows", code="EMPTY_DATA")
    df, y, bad, dropped = _resolve_target(df, target, bad_value, config)
    feats, columns = infer_columns(df, y, target, config, exclude=exclude, keep=keep, categorical=categorical)
    if feats.shape[1] == 0:
        raise ValidationError("no usable feature column after screening", code="NO_FEATURES")
    kinds = {c.name: c.kind for c in columns if c.role == "feature"}

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
        results = [card.score(r) for r in _records(feats.iloc[test_idx])]
        s = [r.score for r in results]
        oof_scores[test_idx] = s
        oof_prob[test_idx] = [r.probability_bad for r in results]
        fold_auc.append(_auc(y[test_idx], s))
        fold_ks.append(ks_statistic(y[test_idx], s))

    # --- final fit on all rows ---
    fit = _fit(feats, y, kinds, config)
    artefact = _export(fit, config, model_id=model_id, version=version, target=target, bad_value=bad)
    base_card = parse_scorecard(artefact)
    rows = _records(feats)
    dev_scores = [base_card.score(r).score for r in rows]
    artefact["score_bands"] = _bands(dev_scores, y.tolist())
    artefact["dev_distribution"] = {
        "score": _score_distribution(dev_scores, config.score_bins),
        "features": _feature_distributions(base_card, rows),
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
        "cv_auc": round(cv_auc, 6),
        "cv_auc_std": round(float(np.std(fold_auc)), 6),
        "gini": round(2 * cv_auc - 1, 6),
        "ks": round(float(np.mean(fold_ks)), 6),
        "cv_fold_auc": [round(a, 6) for a in fold_auc],
        "oof_auc": round(_auc(y, oof_scores), 6),
        "train_auc": round(_auc(y, dev_scores), 6),
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
