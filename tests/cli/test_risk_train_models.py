"""``lendcore risk train --model scorecard|ebm|auto`` and monitoring an EBM artefact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.risk.artefacts import load_model
from lendcore.risk.ebm import EbmModel

from .test_risk_cli import _synthetic_csv

runner = CliRunner()
#: CI's budget: 3 folds and a small EBM (full settings run in benchmarks/bench_models.py)
SMALL = [
    "--folds",
    "3",
    "--outer-bags",
    "2",
    "--interactions",
    "2",
    "--max-rounds",
    "300",
    "--max-bins",
    "16",
]


@pytest.fixture(scope="module")
def ebm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("ebm")
    data = _synthetic_csv(base / "train.csv")
    out = base / "model"
    out.mkdir()
    (out / "scorecard.json").write_text("{}", encoding="utf-8")  # an earlier run's artefact
    args = ["risk", "train", "--data", str(data), "--target", "default", "--out", str(out), "--model", "ebm"]
    result = runner.invoke(app, [*args, *SMALL])
    assert result.exit_code == 0, result.output
    assert "model ebm" in result.output and "terms (mean |log-odds|)" in result.output
    return out


def test_ebm_training_writes_the_artefact_metrics_and_card(ebm_dir: Path) -> None:
    assert not (ebm_dir / "scorecard.json").exists()  # the stale artefact would contradict the card
    model = load_model(ebm_dir)
    assert isinstance(model, EbmModel) and set(model.feature_names) == {"income", "housing"}
    metrics = json.loads((ebm_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["model"] == "ebm" and metrics["selection"]["chosen"] == "ebm"
    assert len(metrics["cv_fold_auc"]) == 3 and metrics["excluded_columns"][0]["reason"] == "id"
    card = (ebm_dir / "model_card.md").read_text(encoding="utf-8")
    for section in ("## Performance", "## Shape functions", "## Top interactions", "## Terms by importance"):
        assert section in card
    shapes = sorted(p.name for p in (ebm_dir / "shapes").iterdir())
    assert [s for s in shapes if not s.startswith("pair_")] == ["00_income.png", "01_housing.png"]
    for name in shapes:
        assert f"(shapes/{name})" in card


def test_monitor_reads_an_ebm_model(ebm_dir: Path, tmp_path: Path) -> None:
    recent = _synthetic_csv(tmp_path / "recent.csv", n=300, seed=5)
    result = runner.invoke(app, ["risk", "monitor", "--model", str(ebm_dir), "--data", str(recent), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n_records"] == 300 and report["ks"] is not None
    assert {i["name"] for i in report["feature_csi"]} == {"income", "housing"}


def test_auto_says_which_model_it_kept_and_why(tmp_path: Path) -> None:
    data = _synthetic_csv(tmp_path / "d.csv", n=400)
    out = tmp_path / "auto"
    args = ["risk", "train", "--data", str(data), "--target", "default", "--out", str(out), "--model", "auto"]
    result = runner.invoke(app, [*args, *SMALL, "--margin", "0.5"])
    assert result.exit_code == 0, result.output
    assert "auto: kept scorecard" in result.output  # no EBM gains 0.5 AUC
    assert (out / "scorecard.json").is_file() and not (out / "ebm.json").exists()
    card = (out / "model_card.md").read_text(encoding="utf-8")
    assert "## Model selection" in card and "kept **scorecard**" in card


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (["--model", "gbm"], "INVALID_MODEL_KIND"),
        (["--model", "auto", "--margin", "-0.1"], "INVALID_MARGIN"),
        (["--model", "ebm", "--outer-bags", "0"], "INVALID_EBM_CONFIG"),
        (["--model", "ebm", "--target", "nope"], "TARGET_NOT_FOUND"),
    ],
)
def test_bad_model_options_exit_2_with_one_line(tmp_path: Path, extra: list[str], code: str) -> None:
    data = _synthetic_csv(tmp_path / "d.csv", n=100)
    args = ["risk", "train", "--data", str(data), "--target", "default", "--out", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2
    assert code in result.output and "Traceback" not in result.output
