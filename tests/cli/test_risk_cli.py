"""``lendcore risk train`` and ``lendcore risk monitor``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app

runner = CliRunner()
FIXTURE = Path(__file__).resolve().parents[1] / "risk" / "fixtures" / "tiny_scorecard.json"


def _synthetic_csv(path: Path, n: int = 500, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.5, n)
    housing = rng.choice(["own", "rent"], n)
    logit = -1.0 - 1.5 * (np.log(income) - 8.5) + 0.8 * (housing == "rent")
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    pd.DataFrame(
        {"id": [f"c{i}" for i in range(n)], "income": income, "housing": housing, "default": bad.astype(int)}
    ).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("risk")
    data = _synthetic_csv(base / "train.csv")
    out = base / "model"
    result = runner.invoke(
        app,
        ["risk", "train", "--data", str(data), "--target", "default", "--out", str(out), "--folds", "3"],
    )
    assert result.exit_code == 0, result.output
    assert "CV ROC AUC" in result.output
    assert "excluded id: id" in result.output
    return out


def test_train_writes_artefacts(trained: Path) -> None:
    for name in ("scorecard.json", "metrics.json", "model_card.md", "roc.png", "calibration.png"):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    for key in ("cv_auc", "cv_auc_std", "gini", "ks", "n_rows", "bad_rate", "iv"):
        assert key in metrics
    assert metrics["n_rows"] == 500
    card = (trained / "model_card.md").read_text(encoding="utf-8")
    assert "## Excluded columns" in card and "| id | id |" in card


def test_monitor_text_and_json(trained: Path, tmp_path: Path) -> None:
    recent = _synthetic_csv(tmp_path / "recent.csv", n=300, seed=5)
    result = runner.invoke(app, ["risk", "monitor", "--model", str(trained), "--data", str(recent)])
    assert result.exit_code == 0, result.output
    assert "PSI score" in result.output and "CSI income" in result.output
    result = runner.invoke(app, ["risk", "monitor", "--model", str(trained), "--data", str(recent), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["n_records"] == 300
    assert report["n_matured"] == 300  # the outcome column is present
    assert report["ks"] is not None


def test_monitor_fail_on_alert(tmp_path: Path) -> None:
    data = tmp_path / "recent.csv"
    pd.DataFrame({"age": [20] * 10, "housing": ["castle"] * 10}).to_csv(data, index=False)
    args = ["risk", "monitor", "--model", str(FIXTURE), "--data", str(data)]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, [*args, "--fail-on-alert"])
    assert result.exit_code == 1
    assert "alert" in result.output


def test_monitor_default_model_on_german_rows() -> None:
    data = Path(__file__).resolve().parents[2] / "data" / "germancredit.csv"
    result = runner.invoke(app, ["risk", "monitor", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["score_psi"]["value"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--data", "missing.csv", "--target", "y"], "DATA_NOT_FOUND"),
        (["--target", "nope"], "TARGET_NOT_FOUND"),
        (["--target", "income"], "TARGET_NOT_BINARY"),
        (["--target", "default", "--bad", "7"], "BAD_VALUE_ABSENT"),
    ],
)
def test_train_errors_exit_2(tmp_path: Path, args: list[str], code: str) -> None:
    data = _synthetic_csv(tmp_path / "d.csv", n=100)
    if "--data" not in args:
        args = ["--data", str(data), *args]
    result = runner.invoke(app, ["risk", "train", *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert code in result.output


def test_monitor_bad_model_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "card.json"
    bad.write_text('{"format": "other"}', encoding="utf-8")
    data = _synthetic_csv(tmp_path / "d.csv", n=50)
    result = runner.invoke(app, ["risk", "monitor", "--model", str(bad), "--data", str(data)])
    assert result.exit_code == 2
    assert "SCORECARD_UNSUPPORTED_FORMAT" in result.output
