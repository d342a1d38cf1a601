"""Training data checks shared by every model family: the target and the column screening.

Model development only (needs pandas, numpy, scikit-learn); never imported on the request path.

* :func:`resolve_target`: the column exists, is binary, holds the bad value (guessed when not
  given) and enough bads and goods; rows without a target are dropped and counted.
* :func:`infer_columns`: type inference (numeric, numeric text, categorical; 2-level integer flags
  are categorical), then exclusion of constant, id-like (one distinct value per row),
  high-cardinality text and leakage-prone columns (post-outcome or pricing names such as
  ``loan_status``, ``int_rate``, ``sub_grade``; or a single column separating goods from bads almost
  perfectly). ``exclude`` / ``keep`` override the screening.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lendcore.core.errors import ValidationError
from lendcore.risk.scorecard import MISSING_LABEL, category_key, is_missing

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from lendcore.risk.training import TrainingConfig

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


@dataclass(frozen=True, slots=True)
class ColumnReport:
    name: str
    kind: str  # numerical | categorical
    role: str  # feature | target | excluded
    reason: str = ""  # id | constant | high_cardinality | leakage_name | pricing | leakage_auc | user
    detail: str = ""


# --- target -------------------------------------------------------------------------------------
def resolve_target(
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

    typed: dict[str, pd.Series] = {}
    reports: list[ColumnReport] = []
    for name in df.columns:
        if name == target:
            reports.append(ColumnReport(str(name), "categorical", "target"))
            continue
        kind, col = _typed_column(str(name), df[name], categorical=categorical, keep=keep)
        reason = _exclusion(str(name), kind, col, len(df), config, exclude=exclude, keep=keep)
        auc = _univariate_auc(col, y, kind) if reason is None else 0.0
        if reason is None and str(name) not in keep and auc >= config.leakage_auc:
            reason = ("leakage_auc", f"single-column ROC AUC {auc:.3f} ≥ {config.leakage_auc}")
        if reason is not None:
            reports.append(ColumnReport(str(name), kind, "excluded", *reason))
            continue
        typed[str(name)] = col
        reports.append(ColumnReport(str(name), kind, "feature", detail=f"univariate AUC {auc:.3f}"))
    frame = pd.DataFrame(typed, index=df.index)
    return frame, reports


def _typed_column(
    name: str, col: pd.Series, *, categorical: Sequence[str], keep: Sequence[str]
) -> tuple[str, pd.Series]:
    """The column's kind and its values typed for it: numerical as float, categorical as text or None.

    Text that is (almost: 98 %) all numbers is numerical; a two-valued integer column is a 0/1-style
    flag, so categorical, unless ``keep`` names it.
    """
    import pandas as pd

    kind = "categorical"
    if name in categorical or pd.api.types.is_bool_dtype(col):
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
        if non_null.nunique() == 2 and (non_null % 1 == 0).all() and name not in keep:
            kind = "categorical"  # a 0/1-style flag
    if kind == "categorical":
        col = col.map(lambda v: None if is_missing(v) else category_key(v)).astype(object)
    return kind, col


def _exclusion(
    name: str,
    kind: str,
    col: pd.Series,
    n: int,
    config: TrainingConfig,
    *,
    exclude: Sequence[str],
    keep: Sequence[str],
) -> tuple[str, str] | None:
    """Why the column is not a feature (reason, detail), by the screening rules in order; None if it is.

    ``exclude`` and constant columns win over ``keep``; ``keep`` overrides every other rule.
    """
    non_null = col.dropna()
    n_unique = int(non_null.nunique())
    if name in exclude:
        return "user", "excluded on request"
    if n_unique <= 1:
        return "constant", f"{n_unique} distinct value(s)"
    if name in keep:
        return None
    lname = name.lower()
    integer_like = kind == "numerical" and bool((non_null % 1 == 0).all())
    if n_unique == n and len(non_null) == n:
        consecutive = integer_like and float(non_null.max() - non_null.min()) == n - 1
        if kind == "categorical" or (integer_like and (ID_NAME.search(lname) or consecutive)):
            return "id", "one distinct value per row"
    if kind == "categorical" and n_unique > max(20, config.max_category_share * n):
        return "high_cardinality", f"{n_unique} distinct values in {n} rows"
    if any(re.search(p, lname) for p in POST_OUTCOME_PATTERNS):
        return "leakage_name", "name suggests a post-outcome field"
    if any(re.search(p, lname) for p in PRICING_PATTERNS):
        return "pricing", "the lender's pricing of the risk, decided after the assessment"
    return None


@dataclass(slots=True)
class PreparedData:
    """The checked target and the screened, typed feature frame every model family trains on."""

    frame: Any  # pd.DataFrame of the feature columns (numerical: float; categorical: text or None)
    y: Any  # np.ndarray of 0/1, 1 = bad
    bad_value: str
    dropped_target_rows: int
    columns: list[ColumnReport]

    @property
    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.columns if c.role == "feature"}


def prepare(
    df: pd.DataFrame,
    target: str,
    bad_value: object | None,
    config: TrainingConfig,
    *,
    exclude: Sequence[str] = (),
    keep: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> PreparedData:
    """Check the set-up and the target, screen the columns. Raises ValidationError with a stable code."""
    if config.folds < 2:
        raise ValidationError("need at least 2 folds", code="INVALID_FOLDS")
    if len(df) == 0:
        raise ValidationError("the data set has no rows", code="EMPTY_DATA")
    df, y, bad, dropped = resolve_target(df, target, bad_value, config)
    feats, columns = infer_columns(df, y, target, config, exclude=exclude, keep=keep, categorical=categorical)
    if feats.shape[1] == 0:
        raise ValidationError("no usable feature column after screening", code="NO_FEATURES")
    return PreparedData(feats, y, bad, dropped, columns)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as plain mappings, as the request-path scorers receive them."""
    out: list[dict[str, Any]] = frame.to_dict(orient="records")
    return out
