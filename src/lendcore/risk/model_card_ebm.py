"""Model card of an EBM: the scorecard card's performance sections, plus every feature's shape plot
and the top interactions as heatmaps (``shapes/*.png``).

Shapes are drawn in score points (``−factor · log-odds``: up = lower risk, the scorecard's
convention), from the exported artefact itself, so the card shows exactly what scores applications.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lendcore.risk.model_card import (
    MONITORING_LINES,
    calibration_table,
    excluded_lines,
    grade_lines,
    performance_lines,
    performance_plots,
    selection_lines,
)

if TYPE_CHECKING:
    from lendcore.risk.ebm import EbmModel, Term
    from lendcore.risk.ebm_training import EbmTrainingResult

#: How many interactions get a heatmap (all are listed in the importance table).
TOP_INTERACTIONS = 3
#: Categorical shape plots show at most this many bins.
MAX_BARS = 30


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60] or "term"


def _shape_plot(model: EbmModel, term: Term, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    factor = model.scaling.factor
    points = [-factor * s for s in term.scores]
    (level,) = model.axis_levels(term)
    fig, ax = plt.subplots(figsize=(5.0, 3.0), dpi=80)
    if level.cuts is not None:
        cuts = list(level.cuts)
        width = (cuts[-1] - cuts[0]) / max(len(cuts) - 1, 1) if len(cuts) > 1 else 1.0
        edges = [cuts[0] - width, *cuts, cuts[-1] + width]
        ax.stairs(points[1 : len(cuts) + 2], edges, linewidth=1.5)
        ax.set_xlabel(term.name)
    else:
        labels = list(level.labels[1:-1])[:MAX_BARS]
        ax.bar(range(len(labels)), points[1 : len(labels) + 1])
        ax.set_xticks(range(len(labels)), [lab[:18] for lab in labels], rotation=60, ha="right", fontsize=6)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_ylabel("points (up = lower risk)")
    ax.set_title(f"{term.name}  (missing: {points[0] + 0.0:+.1f} points)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _heatmap(model: EbmModel, term: Term, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    factor = model.scaling.factor
    rows, cols = (len(lab) for lab in term.labels)
    table = -factor * np.asarray(term.scores).reshape(rows, cols)[1:-1, 1:-1]  # drop missing / unseen
    fig, ax = plt.subplots(figsize=(5.0, 3.8), dpi=80)
    limit = float(np.max(np.abs(table))) or 1.0
    image = ax.imshow(table, aspect="auto", origin="lower", cmap="RdBu", vmin=-limit, vmax=limit)
    fig.colorbar(image, ax=ax, label="points")
    ax.set_ylabel(f"{term.features[0]} (bin)")
    ax.set_xlabel(f"{term.features[1]} (bin)")
    ax.set_title(term.name, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _term_lines(result: EbmTrainingResult, out: Path) -> list[str]:
    model = result.model
    shapes = out / "shapes"
    shapes.mkdir(exist_ok=True)
    importance = dict(result.term_importances)
    lines = [
        "",
        "## Terms by importance",
        "",
        "Mean absolute contribution over the development rows, in log-odds of bad and in points.",
        "",
        "| term | kind | mean abs log-odds | mean abs points |",
        "|---|---|---|---|",
    ]
    for name, value in result.term_importances:
        kind = "interaction" if " & " in name else "main"
        lines.append(f"| {name} | {kind} | {value:.4f} | {value * model.scaling.factor:.1f} |")
    lines += [
        "",
        "## Shape functions",
        "",
        "Each feature's additive contribution by bin, in points (up = lower risk). A missing value "
        "scores the term's missing bin; a category not seen in development scores 0 (neutral).",
        "",
    ]
    for i, term in enumerate(t for t in model.terms if len(t.features) == 1):
        file = f"shapes/{i:02d}_{_slug(term.name)}.png"
        _shape_plot(model, term, out / file)
        lines += [f"### {term.name}", "", f"![{term.name}]({file})", ""]
    pairs = sorted(
        (t for t in model.terms if len(t.features) > 1), key=lambda t: -importance.get(t.name, 0.0)
    )
    lines += ["## Top interactions", ""]
    if not pairs:
        lines += ["None: the model has main terms only.", ""]
    for i, term in enumerate(pairs[:TOP_INTERACTIONS]):
        file = f"shapes/pair_{i}_{_slug(term.name)}.png"
        _heatmap(model, term, out / file)
        lines += [f"### {term.name}", "", f"![{term.name}]({file})", ""]
    return lines


def write_ebm_model_card(result: EbmTrainingResult, out: Path, *, title: str, data_source: str) -> Path:
    """Write ``model_card.md``, its performance plots and ``shapes/*.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    calibration = calibration_table(result)
    performance_plots(result, out, calibration)
    m = result.metrics
    art: dict[str, Any] = result.artefact
    sc = art["scaling"]
    ebm = m["config"]["ebm"]
    lines = [
        f"# Model card: {title}",
        "",
        f"- Model: `{art['model_id']}` version `{art['version']}`, trained {art['trained_at']}",
        f"- Artefact format: `{art['format']}` (`ebm.json`)",
        f"- Data: {data_source}",
        f"- Target: `{art['target']}`, bad = `{art['bad_value']}`; {m['n_rows']} rows, "
        f"{m['n_bad']} bads (bad rate {m['bad_rate']:.1%})"
        + (f"; {m['dropped_target_rows']} rows without a target dropped" if m["dropped_target_rows"] else ""),
        "- Method: Explainable Boosting Machine (interpret `ExplainableBoostingClassifier`): an additive "
        f"model of one shape function per feature (at most {ebm['max_bins']} bins) and "
        f"{m['n_interactions']} pairwise interactions, {ebm['outer_bags']} bags, learning rate "
        f"{ebm['learning_rate']}. Scores use PDO {sc['pdo']:g}, {sc['base_score']:g} points at odds "
        f"{sc['base_odds']:g}:1 good:bad; the probability of bad is the model's own, unrounded.",
        "",
        *selection_lines(m),
        *performance_lines(
            m, "the EBM fitted on each training fold only; held-out rows scored by the exported artefact."
        ),
    ]
    for c in calibration:
        lines.append(
            f"| {c['min_score']}–{c['max_score']} | {c['n']} | {c['observed']:.3f} | {c['predicted']:.3f} |"
        )
    lines += grade_lines(art)
    lines += _term_lines(result, out)
    lines += excluded_lines(result.columns)
    lines += ["", *MONITORING_LINES]
    path = out / "model_card.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
