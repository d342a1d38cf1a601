"""``lendcore risk``: model development (train: scorecard, EBM or auto) and monitoring.

Heavy libraries (optbinning, interpret, pandas, scikit-learn, matplotlib) are imported inside the commands so
``lendcore --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from lendcore.cli.output import fail
from lendcore.core.errors import ConfigurationError, LendcoreError, ValidationError

if TYPE_CHECKING:
    from lendcore.risk.monitoring import MonitoringReport

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

risk_app = typer.Typer(help="Credit scorecard development and monitoring.", no_args_is_help=True)
commands.add_typer(risk_app, name="risk")

console = Console(highlight=False, soft_wrap=True)


def _read_csv(path: Path) -> Any:
    import pandas as pd

    if not path.is_file():
        raise ValidationError(f"data file not found: {path}", code="DATA_NOT_FOUND")
    try:
        return pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise ValidationError(f"cannot read {path} as CSV: {exc}", code="DATA_UNREADABLE") from exc


def _quiet_solver_logs() -> None:
    # cvxpy (pulled in by optbinning) logs a warning for every optional solver it cannot load; it
    # resets its logger's level on import, so filter instead.
    logging.getLogger("__cvxpy__").addFilter(lambda record: record.levelno >= logging.ERROR)


def _write_json(path: Path, data: Any, *, compact: bool = False) -> None:
    text = (
        json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if compact
        else json.dumps(data, indent=1, ensure_ascii=False)
    )
    path.write_text(text + "\n", encoding="utf-8")


@risk_app.command("train")
def train(
    data: Annotated[Path, typer.Option("--data", help="Training data (CSV with a header row).")],
    target: Annotated[str, typer.Option("--target", help="Outcome column.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory for the model.")],
    bad: Annotated[
        str | None, typer.Option("--bad", help="Value of the target meaning bad (default: guessed).")
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="scorecard (WOE + logistic), ebm (Explainable Boosting Machine), or auto (train both, "
            "keep the EBM only if its CV AUC is at least --margin higher).",
        ),
    ] = "scorecard",
    margin: Annotated[
        float, typer.Option("--margin", help="With --model auto: AUC gain the EBM needs.")
    ] = 0.01,
    folds: Annotated[int, typer.Option("--folds", min=2, max=20)] = 5,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1)] = 0,
    model_id: Annotated[str | None, typer.Option("--model-id", help="Default: the data file's name.")] = None,
    version: Annotated[str, typer.Option("--version")] = "1",
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Column to leave out.")] = None,
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Column to keep even if screening flags it.")
    ] = None,
    pdo: Annotated[
        float, typer.Option("--pdo", help="Points to double the odds.", min=0.0, max=1000.0)
    ] = 20.0,
    base_score: Annotated[float, typer.Option("--base-score", min=-10_000.0, max=10_000.0)] = 600.0,
    base_odds: Annotated[float, typer.Option("--base-odds", min=0.0, max=1e6)] = 50.0,
    min_iv: Annotated[
        float, typer.Option("--min-iv", help="Least information value kept.", min=0.0, max=10.0)
    ] = 0.02,
    interactions: Annotated[int, typer.Option("--interactions", help="EBM: pairwise interactions.")] = 5,
    max_bins: Annotated[int, typer.Option("--max-bins", help="EBM: bins per feature.")] = 32,
    outer_bags: Annotated[int, typer.Option("--outer-bags", help="EBM: bagged fits averaged.")] = 8,
    max_rounds: Annotated[int, typer.Option("--max-rounds", help="EBM: boosting rounds at most.")] = 5000,
    jobs: Annotated[int, typer.Option("--jobs", help="EBM: parallel fits (-1: all cores).")] = 1,
    source: Annotated[str | None, typer.Option("--source", help="Data source text for the card.")] = None,
) -> None:
    """Train a model: CV metrics, the artefact (scorecard.json or ebm.json), metrics.json and
    model_card.md in OUT."""
    _quiet_solver_logs()
    try:
        from lendcore.risk.ebm_training import EbmConfig, EbmTrainingResult
        from lendcore.risk.model_card import write_model_card
        from lendcore.risk.model_card_ebm import write_ebm_model_card
        from lendcore.risk.model_selection import MODEL_KINDS, train_model
        from lendcore.risk.training import TrainingConfig

        if model not in MODEL_KINDS:
            raise ValidationError(
                f"--model must be one of {', '.join(MODEL_KINDS)}, not {model!r}", code="INVALID_MODEL_KIND"
            )
        if pdo <= 0 or base_odds <= 0:
            raise ValidationError("--pdo and --base-odds must be positive", code="INVALID_SCALING")
        ebm = EbmConfig(
            interactions=interactions,
            max_bins=max_bins,
            max_interaction_bins=max_bins,
            outer_bags=outer_bags,
            max_rounds=max_rounds,
            n_jobs=jobs,
        )
        df = _read_csv(data)
        config = TrainingConfig(
            pdo=pdo, base_score=base_score, base_odds=base_odds, min_iv=min_iv, folds=folds, seed=seed
        )
        src = source or f"{data.name} ({len(df)} rows)"
        result, selection = train_model(
            model,
            df,
            target,
            bad,
            config=config,
            ebm=ebm,
            margin=margin,
            model_id=model_id or data.stem,
            version=version,
            exclude=exclude or (),
            keep=keep or (),
            data_source=src,
        )
        out.mkdir(parents=True, exist_ok=True)
        written = "ebm.json" if result.kind == "ebm" else "scorecard.json"
        stale = out / ("scorecard.json" if result.kind == "ebm" else "ebm.json")
        stale.unlink(missing_ok=True)  # an earlier run's other artefact would contradict this card
        _write_json(out / written, result.artefact, compact=result.kind == "ebm")
        _write_json(out / "metrics.json", result.metrics)
        if isinstance(result, EbmTrainingResult):
            write_ebm_model_card(result, out, title=model_id or data.stem, data_source=src)
        else:
            write_model_card(result, out, title=model_id or data.stem, data_source=src)
    except LendcoreError as error:
        raise fail(error) from error
    except OSError as exc:
        raise fail(ValidationError(f"cannot write to {out}: {exc}", code="OUTPUT_UNWRITABLE")) from exc

    m = result.metrics
    console.print(
        f"model {result.kind}  rows {m['n_rows']}  bad rate {m['bad_rate']:.1%}  features {m['n_features']}"
    )
    console.print(
        f"{m['folds']}-fold CV ROC AUC {m['cv_auc']:.3f} ± {m['cv_auc_std']:.3f}  "
        f"Gini {m['gini']:.3f}  KS {m['ks']:.3f}"
    )
    if selection.requested == "auto":
        console.print(f"auto: kept {selection.chosen}: {selection.reason}", markup=False)
    for c in result.columns:
        if c.role == "excluded":
            console.print(f"excluded {c.name}: {c.reason} ({c.detail})", markup=False)
    if isinstance(result, EbmTrainingResult):
        top = ", ".join(f"{n} {v:.3f}" for n, v in result.term_importances[:8])
        console.print(f"terms (mean |log-odds|): {top}", markup=False)
    else:
        console.print(
            "IV: " + ", ".join(f"{r['name']} {r['iv']:.3f}" for r in result.iv_table[:8]), markup=False
        )
    console.print(f"wrote {out / written}, metrics.json, model_card.md", markup=False)


def _records(df: Any) -> list[dict[str, Any]]:
    import pandas as pd

    frame = df.astype(object).where(pd.notna(df), None)
    rows: list[dict[str, Any]] = frame.to_dict(orient="records")
    return rows


def _records_from_database(
    card: Any, since: str | None, until: str | None, window_months: int, bad_dpd: int
) -> list[Mapping[str, Any]]:
    """Stored decisions of the card's model between two business dates, as monitoring records with
    their performance outcome (``outcome`` = bad / good / None) as known on the last date."""
    from datetime import timedelta

    from lendcore.cli.database import business_date, open_session
    from lendcore.core.calendar import parse_date
    from lendcore.core.performance import PerformanceDefinition
    from lendcore.origination.monitoring_source import recent_application_records

    definition = PerformanceDefinition(window_months=window_months, bad_dpd=bad_dpd)
    # a report over a period, not an operation: any --until, by default the open business date
    last = parse_date(until, what="--until") if until else business_date(None)
    first = parse_date(since, what="--since") if since else last - timedelta(days=30)
    with open_session(read_only=True) as session:
        return list(
            recent_application_records(session, first, last, model_id=card.model_id, definition=definition)
        )


@risk_app.command("monitor")
def monitor_cmd(
    data: Annotated[
        Path | None, typer.Option("--data", help="Recent applications (CSV): features [+ outcome].")
    ] = None,
    from_db: Annotated[
        bool, typer.Option("--from-db", help="Read recent decisions from the lendcore database instead.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="With --from-db: first business date (default: until − 30 days)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="With --from-db: last business date (default: the open one)."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="scorecard.json / ebm.json or its directory (default: shipped)."),
    ] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="Outcome column (default: the model's target).")
    ] = None,
    bad: Annotated[str | None, typer.Option("--bad", help="Outcome value meaning bad.")] = None,
    score_column: Annotated[
        str | None, typer.Option("--score-column", help="Use stored scores instead of rescoring.")
    ] = None,
    window_months: Annotated[  # bounded by PerformanceDefinition (1-120, INVALID_PERFORMANCE_WINDOW)
        int, typer.Option("--window-months", help="With --from-db: performance window in months (1-120).")
    ] = 6,
    bad_dpd: Annotated[  # bounded by PerformanceDefinition (1-3650)
        int,
        typer.Option(
            "--bad-dpd", help="With --from-db: bad = ever this many days past due (1-3650), or written off."
        ),
    ] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="Exit 1 when any index reaches the alert level.")
    ] = False,
) -> None:
    """PSI of scores and CSI of features against the development sample, with warnings."""
    from lendcore.risk.artefacts import load_model
    from lendcore.risk.monitoring import monitor
    from lendcore.risk.scorecard import default_scorecard

    try:
        card = load_model(model) if model else default_scorecard()
        if card.dev_score_distribution is None:
            raise ConfigurationError(
                "the model has no development distribution to compare with",
                code="SCORECARD_NO_DEV_DISTRIBUTION",
            )
        if (data is None) == (not from_db):
            raise ValidationError("give exactly one of --data FILE or --from-db", code="MONITOR_SOURCE")
        if data is not None:
            records: list[Mapping[str, Any]] = list(_records(_read_csv(data)))
        else:
            records = _records_from_database(card, since, until, window_months, bad_dpd)
            outcome, bad = outcome or "outcome", bad or "bad"  # the performance definition's fields
        report = monitor(card, records, outcome_field=outcome, bad_value=bad, score_field=score_column)
    except LendcoreError as error:
        raise fail(error) from error

    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
    else:
        _print_monitor_report(report)
    if fail_on_alert and report.has_alert:
        raise typer.Exit(1)


def _print_monitor_report(report: MonitoringReport) -> None:
    """The monitoring report as text: the header, one row per index, then rates, rule hits and warnings."""
    console.print(
        f"model {report.model_id} v{report.model_version}: {report.n_records} records", markup=False
    )
    if report.mean_score is not None:
        dev = f" (development {report.dev_mean_score:.1f})" if report.dev_mean_score is not None else ""
        console.print(f"mean score {report.mean_score:.1f}{dev}", markup=False)
    console.print(f"{'index':<60} {'value':>8}  status", markup=False)
    rows = ([report.score_psi] if report.score_psi else []) + list(report.feature_csi)
    for idx in rows:
        kind = "PSI" if idx.name == "score" else "CSI"
        console.print(f"{kind + ' ' + idx.name:<60} {idx.value:>8.4f}  {idx.status}", markup=False)
    if report.approval_rate is not None:
        console.print(
            f"approval rate {report.approval_rate:.1%} of {report.n_decisions} decisions", markup=False
        )
    for rule, rate in report.rule_hit_rates.items():
        console.print(f"rule {rule}: {rate:.1%}", markup=False)
    if report.n_matured:
        if report.ks is not None and report.gini is not None:
            console.print(
                f"matured {report.n_matured}: bad rate {report.matured_bad_rate:.1%}  "
                f"KS {report.ks:.3f}  Gini {report.gini:.3f}",
                markup=False,
            )
    else:
        console.print("no matured records (no outcome): KS/Gini not computed", markup=False)
    for w in report.warnings:
        console.print(f"warning: {w}", markup=False)
