"""Model card: Markdown with PNG plots (score distribution by class, ROC, calibration by band).

Plots use the out-of-fold scores of the cross-validation (each row scored by a card that never saw
it), so they show the expected behaviour on new applications, not the in-sample fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lendcore.risk.screening import ColumnReport
    from lendcore.risk.training import TrainingResult

PLOTS = ("score_distribution.png", "roc.png", "calibration.png")


class CrossValidated(Protocol):
    """What the performance plots need from a training result of any model family."""

    @property
    def oof_scores(self) -> Sequence[int]: ...
    @property
    def oof_probability(self) -> Sequence[float]: ...
    @property
    def y(self) -> Sequence[int]: ...
    @property
    def metrics(self) -> Mapping[str, Any]: ...


def calibration_table(result: CrossValidated, n_bands: int = 10) -> list[dict[str, Any]]:
    import numpy as np

    scores = np.asarray(result.oof_scores)
    prob = np.asarray(result.oof_probability)
    y = np.asarray(result.y)
    order = np.argsort(scores, kind="stable")
    rows = []
    for chunk in np.array_split(order, n_bands):
        if len(chunk) == 0:
            continue
        rows.append(
            {
                "min_score": int(scores[chunk].min()),
                "max_score": int(scores[chunk].max()),
                "n": len(chunk),
                "observed": float(y[chunk].mean()),
                "predicted": float(prob[chunk].mean()),
            }
        )
    return rows


def performance_plots(result: CrossValidated, out: Path, calibration: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import roc_curve

    scores = np.asarray(result.oof_scores)
    y = np.asarray(result.y)
    size = (5.0, 3.4)

    fig, ax = plt.subplots(figsize=size, dpi=80)
    bins = np.linspace(scores.min(), scores.max() + 1, 30).tolist()
    ax.hist(scores[y == 0], bins=bins, alpha=0.6, density=True, label="good")
    ax.hist(scores[y == 1], bins=bins, alpha=0.6, density=True, label="bad")
    ax.set_xlabel("score (out of fold)")
    ax.set_ylabel("density")
    ax.set_title("Score distribution by class")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "score_distribution.png")
    plt.close(fig)

    fpr, tpr, _ = roc_curve(y, -scores)
    fig, ax = plt.subplots(figsize=(3.8, 3.6), dpi=80)
    ax.plot(fpr, tpr, label=f"CV AUC {result.metrics['cv_auc']:.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set_xlabel("false positive rate (goods)")
    ax.set_ylabel("true positive rate (bads)")
    ax.set_title("ROC (out of fold)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "roc.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=size, dpi=80)
    x = np.arange(len(calibration))
    ax.bar(x - 0.2, [c["observed"] for c in calibration], width=0.4, label="observed")
    ax.bar(x + 0.2, [c["predicted"] for c in calibration], width=0.4, label="predicted")
    ax.set_xticks(x, [f"{c['min_score']}" for c in calibration], rotation=45, fontsize=7)
    ax.set_xlabel("score band (lowest score)")
    ax.set_ylabel("bad rate")
    ax.set_title("Calibration by score band")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "calibration.png")
    plt.close(fig)


def selection_lines(metrics: Mapping[str, Any]) -> list[str]:
    """The card's "Model selection" section when ``risk train --model auto`` chose the family."""
    sel = metrics.get("selection")
    if not sel or sel.get("requested") != "auto":
        return []
    alt = metrics.get("alternative", {})
    return [
        "## Model selection",
        "",
        f"`--model auto` trained the scorecard and the EBM on the same folds and kept **{sel['chosen']}**: "
        f"{sel['reason']}.",
        "",
        f"Alternative not kept: {alt.get('model', '?')}, CV AUC {alt.get('cv_auc', float('nan')):.3f} "
        f"± {alt.get('cv_auc_std', float('nan')):.3f} (folds: "
        + ", ".join(f"{a:.3f}" for a in alt.get("cv_fold_auc", []))
        + ").",
        "",
    ]


def performance_lines(metrics: Mapping[str, Any], how: str) -> list[str]:
    m = metrics
    return [
        "## Performance",
        "",
        f"Stratified {m['folds']}-fold cross-validation (seed {m['seed']}); {how}",
        "",
        "| metric | value |",
        "|---|---|",
        f"| CV ROC AUC (mean ± std) | {m['cv_auc']:.3f} ± {m['cv_auc_std']:.3f} |",
        f"| fold AUCs | {', '.join(f'{a:.3f}' for a in m['cv_fold_auc'])} |",
        f"| Gini (2·AUC − 1) | {m['gini']:.3f} |",
        f"| KS (mean over folds) | {m['ks']:.3f} |",
        f"| in-sample AUC / KS (final fit) | {m['train_auc']:.3f} / {m['train_ks']:.3f} |",
        f"| features in the model | {m['n_features']} |",
        "",
        "![Score distribution](score_distribution.png) ![ROC](roc.png)",
        "",
        "## Calibration by score band (out of fold)",
        "",
        "![Calibration](calibration.png)",
        "",
        "| scores | rows | observed bad rate | predicted bad rate |",
        "|---|---|---|---|",
    ]


def grade_lines(artefact: Mapping[str, Any]) -> list[str]:
    lines = [
        "",
        "## Suggested grades (development sample quintiles)",
        "",
        "| grade | scores | share | bad rate |",
        "|---|---|---|---|",
    ]
    for b in artefact.get("score_bands", []):
        lo = "" if b["min_score"] is None else str(b["min_score"])
        hi = "" if b["max_score"] is None else str(b["max_score"])
        rate = "" if b["dev_bad_rate"] is None else f"{b['dev_bad_rate']:.3f}"
        lines.append(f"| {b['grade']} | [{lo}, {hi}) | {b['dev_share']:.1%} | {rate} |")
    return lines


def excluded_lines(columns: Sequence[ColumnReport]) -> list[str]:
    excluded = [c for c in columns if c.role == "excluded"]
    lines = ["", "## Excluded columns", ""]
    if excluded:
        lines += ["| column | reason | detail |", "|---|---|---|"]
        lines += [f"| {c.name} | {c.reason} | {c.detail} |" for c in excluded]
    else:
        lines.append("None: no id-like, constant or leakage-prone column was found.")
    return lines


MONITORING_LINES = [
    "## Monitoring",
    "",
    "`lendcore risk monitor --model DIR --data recent.csv` compares recent applications with the "
    "development distributions stored in the artefact: PSI of the score and CSI of each feature "
    "(warn at 0.1, alert at 0.25), approval and rule-hit rates, and KS / Gini on matured rows.",
    "",
]


def write_model_card(result: TrainingResult, out: Path, *, title: str, data_source: str) -> Path:
    """Write ``model_card.md`` and its plots into ``out``; return the card's path."""
    out.mkdir(parents=True, exist_ok=True)
    calibration = calibration_table(result)
    performance_plots(result, out, calibration)
    m = result.metrics
    art = result.artefact
    sc = art["scaling"]
    lines = [
        f"# Model card: {title}",
        "",
        f"- Model: `{art['model_id']}` version `{art['version']}`, trained {art['trained_at']}",
        f"- Artefact format: `{art['format']}` (`scorecard.json`)",
        f"- Data: {data_source}",
        f"- Target: `{art['target']}`, bad = `{art['bad_value']}`; {m['n_rows']} rows, "
        f"{m['n_bad']} bads (bad rate {m['bad_rate']:.1%})"
        + (f"; {m['dropped_target_rows']} rows without a target dropped" if m["dropped_target_rows"] else ""),
        "- Method: optimal monotonic WOE binning (optbinning `BinningProcess`, "
        f"at most {m['config']['max_n_bins']} bins, IV ≥ {m['config']['min_iv']}), "
        f"logistic regression (L2, C = {m['config']['c']}), points scaled with PDO {sc['pdo']:g}, "
        f"{sc['base_score']:g} points at odds {sc['base_odds']:g}:1 good:bad. Higher score = lower risk.",
        "",
        *selection_lines(m),
        *performance_lines(
            m,
            "binning and regression fitted on each training fold only; "
            "held-out rows scored by the exported card.",
        ),
    ]
    for c in calibration:
        lines.append(
            f"| {c['min_score']}–{c['max_score']} | {c['n']} | {c['observed']:.3f} | {c['predicted']:.3f} |"
        )
    lines += grade_lines(art)
    lines += [
        "",
        "## Information value",
        "",
        "| column | kind | IV | bins | in card |",
        "|---|---|---|---|---|",
    ]
    for row in result.iv_table:
        lines.append(
            f"| {row['name']} | {row['kind']} | {row['iv']:.4f} | {row['n_bins']} | "
            f"{'yes' if row['selected'] else 'no'} |"
        )
    lines += excluded_lines(result.columns)
    if result.wrong_sign_dropped:
        lines += [
            "",
            "Dropped after fitting because their coefficient had the wrong sign (collinearity): "
            + ", ".join(result.wrong_sign_dropped),
        ]
    lines += [
        "",
        "## Points",
        "",
        f"Base points: {art['base_points']}. Missing values score the feature's `Missing` points; "
        "categories not seen in development score the `Other` points (WOE 0, neutral).",
        "",
    ]
    for f in art["features"]:
        lines += [f"### {f['name']} ({f['kind']})", "", "| bin | points |", "|---|---|"]
        lines += [f"| {b['label']} | {b['points']} |" for b in f["bins"]]
        if f["kind"] == "categorical":
            lines.append(f"| Other | {f['other_points']} |")
        lines += [f"| Missing | {f['missing_points']} |", ""]
    lines += MONITORING_LINES
    path = out / "model_card.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
