"""Scorecard development pipeline: screening, target checks, CV, export consistency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lendcore.core.errors import ValidationError
from lendcore.risk.scorecard import default_scorecard, parse_scorecard
from lendcore.risk.training import TrainingConfig, pipeline_scores, train_scorecard

DATA = Path(__file__).resolve().parents[2] / "data"
FAST = TrainingConfig(folds=3, seed=1)


def synthetic(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.5, n)
    age = rng.integers(18, 70, n).astype(float)
    housing = rng.choice(["own", "rent", "free"], n, p=[0.5, 0.4, 0.1])
    flag = rng.integers(0, 2, n)
    logit = -1.0 - 0.9 * (np.log(income) - 8.5) / 0.5 - 0.03 * (age - 40) + 0.8 * (housing == "rent")
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    age[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "application_id": [f"app_{i:05d}" for i in range(n)],
            "row_no": np.arange(n),
            "income": income.round(2),
            "age": age,
            "housing": housing,
            "has_phone": flag,
            "country": "CN",
            "int_rate": 10 + 5 * bad + rng.normal(0, 3, n),
            "loan_status": np.where(bad, "Charged Off", "Fully Paid"),
            "amount_text": [str(x) for x in rng.integers(1000, 9000, n)],
            "target": np.where(bad, "bad", "good"),
        }
    )


@pytest.fixture(scope="module")
def result_synth() -> object:
    return train_scorecard(synthetic(), "target", "bad", config=FAST, model_id="synth")


def test_synthetic_training_screens_columns(result_synth: object) -> None:
    from lendcore.risk.training import TrainingResult

    assert isinstance(result_synth, TrainingResult)
    r = result_synth
    reasons = {c.name: c.reason for c in r.columns if c.role == "excluded"}
    assert reasons["application_id"] == "id"
    assert reasons["row_no"] == "id"
    assert reasons["country"] == "constant"
    assert reasons["int_rate"] == "pricing"
    assert reasons["loan_status"] == "leakage_name"
    kinds = {c.name: c.kind for c in r.columns if c.role == "feature"}
    assert kinds["income"] == "numerical"
    assert kinds["age"] == "numerical"
    assert kinds["housing"] == "categorical"
    assert kinds["has_phone"] == "categorical"  # 0/1 flag
    assert kinds["amount_text"] == "numerical"  # numeric text
    m = r.metrics
    assert 0.6 < m["cv_auc"] < 1.0
    assert m["n_rows"] == 600
    assert len(m["cv_fold_auc"]) == 3
    assert m["gini"] == pytest.approx(2 * m["cv_auc"] - 1, abs=1e-5)
    assert 0 < m["ks"] < 1
    assert {"income", "age"} <= set(r.scorecard.feature_names)


def test_export_matches_training_pipeline(result_synth: object) -> None:
    from lendcore.risk.training import TrainingResult

    assert isinstance(result_synth, TrainingResult)
    assert np.array_equal(pipeline_scores(result_synth, FAST), np.asarray(result_synth.dev_scores))
    card = parse_scorecard(result_synth.artefact)
    shares = card.dev_score_distribution
    assert shares is not None and sum(shares.shares) == pytest.approx(1.0)
    for dist in card.dev_feature_distributions.values():
        assert sum(dist.values()) == pytest.approx(1.0)
    # missing ages were seen in development: the Missing bin has a share
    assert card.dev_feature_distributions["age"]["Missing"] > 0


def test_near_perfect_single_column_is_reported_as_leakage() -> None:
    df = synthetic(400, seed=3)
    df["days_overdue_later"] = np.where(df["target"] == "bad", 60.0, 0.0) + np.arange(400) % 3
    r = train_scorecard(df, "target", "bad", config=FAST)
    reasons = {c.name: c.reason for c in r.columns if c.role == "excluded"}
    assert reasons["days_overdue_later"] == "leakage_auc"
    # keep overrides the screening
    r2 = train_scorecard(df, "target", "bad", config=FAST, keep=["int_rate"], exclude=["income"])
    reasons2 = {c.name: c.reason for c in r2.columns if c.role == "excluded"}
    assert "int_rate" not in reasons2
    assert reasons2["income"] == "user"


def test_bad_value_guessed_for_0_1_targets() -> None:
    df = synthetic(400)
    df["target"] = (df["target"] == "bad").astype(int)
    r = train_scorecard(df, "target", config=FAST)
    assert r.artefact["bad_value"] == "1"
    r2 = train_scorecard(df, "target", 1, config=FAST)
    assert r2.metrics["n_bad"] == r.metrics["n_bad"]


@pytest.mark.parametrize(
    ("mutate", "target", "bad", "code"),
    [
        (lambda d: d, "nope", "bad", "TARGET_NOT_FOUND"),
        (lambda d: d, "housing", "own", "TARGET_NOT_BINARY"),
        (lambda d: d, "target", "BAD", "BAD_VALUE_ABSENT"),
        (lambda d: d.assign(target=np.where(d.index < 5, "bad", "good")), "target", "bad", "TOO_FEW_BADS"),
        (lambda d: d.assign(target="good"), "target", "bad", "TARGET_NOT_BINARY"),
        (lambda d: d.assign(target=np.where(d.index % 2, "x", "y")), "target", None, "BAD_VALUE_REQUIRED"),
        (lambda d: d.iloc[:0], "target", "bad", "EMPTY_DATA"),
    ],
)
def test_bad_target_errors(mutate: object, target: str, bad: str | None, code: str) -> None:
    df = mutate(synthetic(300))  # type: ignore[operator]
    with pytest.raises(ValidationError) as info:
        train_scorecard(df, target, bad, config=FAST)
    assert info.value.code == code


def test_rows_without_target_are_dropped_and_counted() -> None:
    df = synthetic(400)
    df.loc[:9, "target"] = None
    r = train_scorecard(df, "target", "bad", config=FAST)
    assert r.metrics["dropped_target_rows"] == 10
    assert r.metrics["n_rows"] == 390


def test_no_predictive_feature() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"noise": rng.normal(size=300), "y": rng.integers(0, 2, 300)})
    with pytest.raises(ValidationError) as info:
        train_scorecard(df, "y", 1, config=TrainingConfig(folds=3, min_iv=0.5))
    assert info.value.code == "NO_PREDICTIVE_FEATURES"


@pytest.mark.slow
def test_german_credit_reaches_target_auc_and_matches_shipped_model() -> None:
    df = pd.read_csv(DATA / "germancredit.csv")
    r = train_scorecard(df, "creditability", "bad", model_id="german-credit")
    assert r.metrics["cv_auc"] >= 0.79
    assert r.metrics["n_rows"] == 1000
    assert r.metrics["bad_rate"] == pytest.approx(0.3)
    # the plain-Python scorer gives exactly the training pipeline's own scores
    assert np.array_equal(pipeline_scores(r), np.asarray(r.dev_scores))
    # and the shipped model is this training run (same data, same config, same seed)
    shipped = default_scorecard()
    assert shipped.metrics["cv_auc"] == r.metrics["cv_auc"]
    features = df.drop(columns=["creditability"]).to_dict(orient="records")
    assert [shipped.score(row).score for row in features] == r.dev_scores
