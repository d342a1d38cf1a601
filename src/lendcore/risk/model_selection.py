"""Which model family to ship: ``scorecard``, ``ebm``, or ``auto`` (train both, keep the better).

:func:`choose` is the rule, pure: the EBM is kept only when its CV AUC beats the scorecard's by at
least ``margin``; a smaller gain (fold-to-fold noise on credit data is about 0.01–0.03) does not pay
for the more complex model, and a scorecard that is as good or better is always kept. Both families
are cross-validated on the same folds (same rows, same seed), so the comparison is paired.

:func:`train_model` runs the training for a kind and returns the kept result with the selection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from lendcore.core.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from lendcore.risk.ebm_training import EbmConfig, EbmTrainingResult
    from lendcore.risk.training import TrainingConfig, TrainingResult

MODEL_KINDS: Final = ("scorecard", "ebm", "auto")
#: Default margin of CV AUC the EBM must gain over the scorecard to be kept by ``auto``.
DEFAULT_MARGIN: Final = 0.01


@dataclass(frozen=True, slots=True)
class Selection:
    requested: str  # scorecard | ebm | auto
    chosen: str  # scorecard | ebm
    reason: str
    #: CV AUC of every family trained in this run
    cv_auc: Mapping[str, float] = field(default_factory=dict)
    margin: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "chosen": self.chosen,
            "reason": self.reason,
            "cv_auc": dict(self.cv_auc),
            "margin": self.margin,
        }


def choose(scorecard_auc: float, ebm_auc: float, margin: float = DEFAULT_MARGIN) -> Selection:
    """Keep the EBM iff ``ebm_auc − scorecard_auc ≥ margin``; otherwise the simpler scorecard."""
    if margin < 0:
        raise ValidationError("the selection margin cannot be negative", code="INVALID_MARGIN")
    gain = ebm_auc - scorecard_auc
    aucs = {"scorecard": scorecard_auc, "ebm": ebm_auc}
    text = f"CV AUC: EBM {ebm_auc:.4f}, scorecard {scorecard_auc:.4f} (EBM {gain:+.4f})"
    if gain >= margin:
        return Selection(
            "auto", "ebm", f"{text}; the gain reaches the margin {margin:.4f}: EBM kept", aucs, margin
        )
    if gain > 0:
        why = f"the gain is below the margin {margin:.4f}: the simpler scorecard is kept"
    else:
        why = "the scorecard is as good or better, and simpler: scorecard kept"
    return Selection("auto", "scorecard", f"{text}; {why}", aucs, margin)


def train_model(
    kind: str,
    df: pd.DataFrame,
    target: str,
    bad_value: object | None = None,
    *,
    config: TrainingConfig,
    ebm: EbmConfig | None = None,
    margin: float = DEFAULT_MARGIN,
    **kwargs: Any,
) -> tuple[TrainingResult | EbmTrainingResult, Selection]:
    """Train ``kind`` (``scorecard``, ``ebm`` or ``auto``); keyword arguments go to both trainers."""
    from lendcore.risk.ebm_training import train_ebm
    from lendcore.risk.training import train_scorecard

    if kind not in MODEL_KINDS:
        raise ValidationError(
            f"unknown model kind {kind!r} (expected one of {', '.join(MODEL_KINDS)})",
            code="INVALID_MODEL_KIND",
        )
    if kind == "auto" and margin < 0:
        raise ValidationError("the selection margin cannot be negative", code="INVALID_MARGIN")
    if kind == "scorecard":
        sc = train_scorecard(df, target, bad_value, config=config, **kwargs)
        requested = Selection("scorecard", "scorecard", "requested", {"scorecard": sc.metrics["cv_auc"]})
        sc.metrics["selection"] = requested.to_dict()
        return sc, requested
    if kind == "ebm":
        eb = train_ebm(df, target, bad_value, config=config, ebm=ebm, **kwargs)
        requested = Selection("ebm", "ebm", "requested", {"ebm": eb.metrics["cv_auc"]})
        eb.metrics["selection"] = requested.to_dict()
        return eb, requested
    sc = train_scorecard(df, target, bad_value, config=config, **kwargs)
    eb = train_ebm(df, target, bad_value, config=config, ebm=ebm, **kwargs)
    selection = choose(sc.metrics["cv_auc"], eb.metrics["cv_auc"], margin)
    kept: TrainingResult | EbmTrainingResult = eb if selection.chosen == "ebm" else sc
    other = sc if kept is eb else eb
    kept.metrics["selection"] = selection.to_dict()
    kept.metrics["alternative"] = {
        k: other.metrics[k] for k in ("model", "cv_auc", "cv_auc_std", "gini", "ks", "cv_fold_auc")
    }
    return kept, selection
