"""EBM development: same screening and folds as the scorecard, export equal to the library, auto choice."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import StratifiedKFold

from lendcore.core.errors import ValidationError
from lendcore.risk.ebm_artefact import parse_ebm
from lendcore.risk.ebm_training import EbmConfig, EbmTrainingResult, estimator, export_ebm, train_ebm
from lendcore.risk.model_selection import choose, train_model
from lendcore.risk.screening import prepare, records
from lendcore.risk.training import TrainingConfig

from .test_training import synthetic

pytestmark = pytest.mark.filterwarnings("ignore:Missing values detected")
#: metrics.json keys of the scorecard (tests/risk/test_training.py) that every family writes
SHARED_METRICS = (
    "model",
    "cv_auc",
    "cv_auc_std",
    "gini",
    "ks",
    "cv_fold_auc",
    "oof_auc",
    "train_auc",
    "train_ks",
    "dev_mean_score",
    "folds",
    "seed",
    "n_rows",
    "n_bad",
    "bad_rate",
    "n_features",
    "dropped_target_rows",
    "data_source",
    "excluded_columns",
    "config",
)

DATA = Path(__file__).resolve().parents[2] / "data"
FAST = TrainingConfig(folds=3, seed=1)
#: A small EBM: seconds, not minutes (full settings run in benchmarks/bench_models.py).
SMALL = EbmConfig(outer_bags=2, interactions=2, max_rounds=400, max_bins=16, max_interaction_bins=8)


@pytest.fixture(scope="module")
def result() -> EbmTrainingResult:
    return train_ebm(synthetic(), "target", "bad", config=FAST, ebm=SMALL, model_id="synth-ebm")


def _fitted(df: pd.DataFrame, target: str, bad: str, config: EbmConfig = SMALL) -> tuple[Any, Any, Any]:
    """(held-out frame, library model fitted on the other rows, plain-Python scorer of its export)."""
    data = prepare(df, target, bad, FAST)
    train_idx, test_idx = next(StratifiedKFold(3, shuffle=True, random_state=0).split(data.frame, data.y))
    model = estimator(data.kinds, list(data.frame.columns), config, seed=0)
    model.fit(data.frame.iloc[train_idx], data.y[train_idx])
    artefact = export_ebm(model, data.kinds, FAST, model_id="m", version="1", target=target, bad_value=bad)
    return data.frame.iloc[test_idx], model, parse_ebm(artefact)


def test_the_ebm_screens_columns_exactly_like_the_scorecard(result: EbmTrainingResult) -> None:
    # the scorecard trains on prepare()'s frame too (its screening is specified in test_training.py)
    screened = prepare(synthetic(), "target", "bad", FAST)
    assert result.columns == screened.columns
    assert list(result.frame.columns) == list(screened.frame.columns)
    excluded = {c["name"]: c["reason"] for c in result.metrics["excluded_columns"]}
    assert excluded["application_id"] == "id" and excluded["int_rate"] == "pricing"
    assert excluded["loan_status"] == "leakage_name"
    # the same metrics as the scorecard's metrics.json, and the EBM's own
    assert set(SHARED_METRICS) <= set(result.metrics)
    assert {"terms", "n_interactions"} <= set(result.metrics) and result.metrics["model"] == "ebm"
    assert result.metrics["gini"] == pytest.approx(2 * result.metrics["cv_auc"] - 1, abs=1e-5)
    assert 0.6 < result.metrics["cv_auc"] < 1.0


def test_out_of_fold_predictions_come_from_a_model_that_never_saw_the_row(result: EbmTrainingResult) -> None:
    data = prepare(synthetic(), "target", "bad", FAST)
    folds = StratifiedKFold(FAST.folds, shuffle=True, random_state=FAST.seed).split(data.frame, data.y)
    train_idx, test_idx = next(folds)
    model = estimator(data.kinds, list(data.frame.columns), SMALL, seed=FAST.seed)
    model.fit(data.frame.iloc[train_idx], data.y[train_idx])
    expected = model.predict_proba(data.frame.iloc[test_idx])[:, 1]
    assert np.allclose(np.asarray(result.oof_probability)[test_idx], expected, rtol=0, atol=1e-9)


def test_the_plain_python_scorer_equals_the_library_on_held_out_rows() -> None:
    held_out, model, scorer = _fitted(synthetic(900, seed=4), "target", "bad")
    library = model.predict_proba(held_out)[:, 1]
    ours = np.asarray([scorer.score(r).probability_bad for r in records(held_out)])
    assert np.max(np.abs(ours - library)) <= 1e-9
    # and the per-term contributions are the library's own per-term scores
    terms = model.eval_terms(held_out)
    contributions = np.asarray(
        [[c.log_odds for c in scorer.score(r).contributions] for r in records(held_out)]
    )
    assert np.max(np.abs(contributions - terms)) <= 1e-9


def test_the_plain_python_scorer_equals_the_library_on_german_credit_held_out_rows() -> None:
    df = pd.read_csv(DATA / "germancredit.csv")
    held_out, model, scorer = _fitted(df, "creditability", "bad")
    library = model.predict_proba(held_out)[:, 1]
    ours = np.asarray([scorer.score(r).probability_bad for r in records(held_out)])
    assert len(ours) > 300 and np.max(np.abs(ours - library)) <= 1e-9
    assert sum(len(t.features) > 1 for t in scorer.terms) == SMALL.interactions


@pytest.fixture(scope="module")
def fitted_synthetic() -> tuple[Any, Any, Any]:
    return _fitted(synthetic(600, seed=2), "target", "bad")


@settings(max_examples=60)
@given(data=st.data())
def test_any_row_scores_as_the_library_predicts(fitted_synthetic: tuple[Any, Any, Any], data: Any) -> None:
    """Missing values, unseen categories, values on the cuts and beyond the range included."""
    held_out, model, scorer = fitted_synthetic
    row: dict[str, Any] = {}
    for feature in scorer.features:
        level = feature.levels[0]
        if level.cuts is not None:
            cuts = list(level.cuts)
            row[feature.name] = data.draw(
                st.one_of(
                    st.just(math.nan),
                    st.sampled_from(cuts),
                    st.floats(min_value=cuts[0] - 10, max_value=cuts[-1] + 10),
                    st.sampled_from([1e12, -1e12]),
                )
            )
        else:
            row[feature.name] = data.draw(st.sampled_from([*level.lookup, "never-seen", None]))  # type: ignore[list-item]
    frame = pd.DataFrame([row], columns=held_out.columns).astype(held_out.dtypes.to_dict())
    assert scorer.score(row).probability_bad == pytest.approx(model.predict_proba(frame)[0, 1], abs=1e-9)


def test_an_unseen_data_set_trains_with_inferred_types() -> None:
    """Mixed raw columns as a CSV gives them: numeric text with blanks, booleans, dates, free text."""
    rng = np.random.default_rng(7)
    n = 400
    income = rng.lognormal(8, 0.4, n)
    bad = rng.random(n) < 1 / (1 + np.exp(-(-1 - 1.2 * (np.log(income) - 8) / 0.4)))
    df = pd.DataFrame(
        {
            "customer_ref": [f"C{i:04d}" for i in range(n)],
            "income_text": [("" if i % 17 == 0 else f"{x:.2f}") for i, x in enumerate(income)],
            "owns_car": rng.random(n) < 0.4,
            "signup_date": pd.date_range("2020-01-01", periods=n, freq="D").astype(str),
            "region": rng.choice(["north", "south", "east", None], n),
            "always_blank": [None] * n,
            "defaulted": np.where(bad, "yes", "no"),
        }
    )
    r = train_ebm(df, "defaulted", config=FAST, ebm=SMALL)
    kinds = {c.name: (c.kind, c.role, c.reason) for c in r.columns}
    assert kinds["income_text"][:2] == ("numerical", "feature")
    assert kinds["owns_car"][:2] == ("categorical", "feature")
    assert kinds["customer_ref"][2] == "id" and kinds["signup_date"][2] == "id"
    assert kinds["always_blank"][2] == "constant"
    assert r.artefact["bad_value"] == "yes"
    raw = df.drop(columns=["defaulted"]).astype(object).where(df.notna(), None).to_dict(orient="records")
    assert all(0 < r.model.score(row).probability_bad < 1 for row in raw)


@pytest.mark.parametrize(
    ("mutate", "target", "code"),
    [
        (lambda d: d, "nope", "TARGET_NOT_FOUND"),
        (lambda d: d, "housing", "TARGET_NOT_BINARY"),
        (lambda d: d.iloc[:0], "target", "EMPTY_DATA"),
        (lambda d: d[["application_id", "target"]], "target", "NO_FEATURES"),
    ],
)
def test_bad_input_fails_before_any_fit_with_the_scorecard_codes(mutate: Any, target: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        train_ebm(mutate(synthetic(200)), target, "bad", config=FAST, ebm=SMALL)
    assert info.value.code == code


@pytest.mark.parametrize(
    "kwargs",
    [{"interactions": -1}, {"max_bins": 2}, {"outer_bags": 0}, {"learning_rate": 0.0}, {"n_jobs": 0}],
)
def test_an_impossible_ebm_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        EbmConfig(**kwargs)
    assert info.value.code == "INVALID_EBM_CONFIG"


@given(
    sc=st.floats(0.5, 1.0),
    gain=st.floats(-0.2, 0.2),
    margin=st.floats(0.0, 0.05),
)
def test_auto_keeps_the_ebm_only_when_it_gains_at_least_the_margin(
    sc: float, gain: float, margin: float
) -> None:
    selection = choose(sc, sc + gain, margin)
    assert selection.chosen == ("ebm" if (sc + gain) - sc >= margin else "scorecard")
    assert selection.reason and selection.cv_auc == {"scorecard": sc, "ebm": sc + gain}


def test_a_negative_margin_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        choose(0.7, 0.8, -0.01)
    assert info.value.code == "INVALID_MARGIN"


def test_auto_trains_both_on_the_same_folds_and_records_why(result: EbmTrainingResult) -> None:
    kept, selection = train_model(
        "auto", synthetic(), "target", "bad", config=FAST, ebm=SMALL, margin=0.0, model_id="synth-ebm"
    )
    aucs = selection.cv_auc
    assert aucs["ebm"] == result.metrics["cv_auc"]  # the same folds, the same fits
    expected = "ebm" if aucs["ebm"] >= aucs["scorecard"] else "scorecard"
    assert selection.chosen == kept.kind == expected
    assert kept.metrics["selection"]["chosen"] == expected and kept.metrics["selection"]["margin"] == 0.0
    assert kept.metrics["alternative"]["model"] != kept.kind
    assert len(kept.metrics["cv_fold_auc"]) == len(kept.metrics["alternative"]["cv_fold_auc"]) == FAST.folds


def test_a_category_never_seen_in_development_is_neutral(result: EbmTrainingResult) -> None:
    row = records(result.frame.iloc[:1])[0] | {"housing": "castle", "has_phone": "7"}
    contributions = {c.feature: c for c in result.model.score(row).contributions}
    assert contributions["housing"].bin == contributions["has_phone"].bin == "Other"
    assert contributions["housing"].log_odds == contributions["has_phone"].log_odds == 0.0
