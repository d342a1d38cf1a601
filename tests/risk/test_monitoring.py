"""PSI / CSI, KS / Gini and rates against hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lendcore.core.errors import ValidationError
from lendcore.risk.monitoring import (
    Thresholds,
    auc_of_scores,
    ks_of_scores,
    monitor,
    psi,
    stability_index,
)
from lendcore.risk.scorecard import Scorecard, load_scorecard

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_scorecard.json"


@pytest.fixture(scope="module")
def card() -> Scorecard:
    return load_scorecard(FIXTURE)


def test_psi_hand_computed() -> None:
    expected = [0.2, 0.5, 0.3]
    actual = [0.3, 0.4, 0.3]
    hand = (0.3 - 0.2) * math.log(0.3 / 0.2) + (0.4 - 0.5) * math.log(0.4 / 0.5)
    assert psi(expected, actual) == pytest.approx(hand)
    assert psi(expected, actual) == pytest.approx(0.0628609, abs=1e-6)
    assert psi(expected, expected) == 0.0


def test_psi_floors_empty_bins() -> None:
    value = psi([0.5, 0.5, 0.0], [0.5, 0.4, 0.1])
    hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert value == pytest.approx(hand)


def test_thresholds() -> None:
    t = Thresholds()
    assert [t.status(x) for x in (0.0, 0.099, 0.1, 0.2499, 0.25, 3)] == [
        "ok",
        "ok",
        "warn",
        "warn",
        "alert",
        "alert",
    ]


def test_stability_index_counts_unseen_labels() -> None:
    idx = stability_index("f", {"a": 0.5, "b": 0.5}, {"a": 5, "b": 4, "c": 1})
    hand = (0.5 - 0.5) * 0 + (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert idx.value == pytest.approx(hand)
    assert idx.status == "alert"
    assert [b.label for b in idx.bins] == ["a", "b", "c"]


def test_auc_and_ks_hand_computed() -> None:
    bad = [1, 1, 0, 1, 0, 0]
    scores = [400, 450, 460, 500, 520, 520]
    # pairs (good, bad) with good > bad: 460 beats 400 and 450, each 520 beats all three → 8 of 9
    assert auc_of_scores(bad, scores) == pytest.approx(8 / 9)
    # cumulative at 450: bads 2/3, goods 0 → 0.667
    assert ks_of_scores(bad, scores) == pytest.approx(2 / 3)
    # ties count half
    assert auc_of_scores([1, 0], [500, 500]) == pytest.approx(0.5)


def test_monitor_on_development_like_sample(card: Scorecard) -> None:
    # reproduce the dev shares exactly: ages 20/30/45 in 2:5:3, all own
    records = [{"age": 20, "housing": "own"}] * 2 + [{"age": 30, "housing": "own"}] * 5
    records += [{"age": 45, "housing": "own"}] * 3
    report = monitor(card, records)
    age = next(c for c in report.feature_csi if c.name == "age")
    assert age.value == pytest.approx(0.0, abs=1e-12)
    housing = next(c for c in report.feature_csi if c.name == "housing")
    hand = (1.0 - 0.7) * math.log(1.0 / 0.7) + (1e-4 - 0.3) * math.log(1e-4 / 0.3)
    assert housing.value == pytest.approx(hand)
    assert housing.status == "alert"
    # scores 500-10+10=500, 515, 525 → score bins [<495)=0, [495,510)=0.2, [>=510)=0.8
    score = report.score_psi
    assert score is not None
    hand_score = (
        (1e-4 - 0.2) * math.log(1e-4 / 0.2)
        + (0.2 - 0.5) * math.log(0.2 / 0.5)
        + (0.8 - 0.3) * math.log(0.8 / 0.3)
    )
    assert score.value == pytest.approx(hand_score)
    assert report.has_alert
    assert any("housing" in w for w in report.warnings)
    assert report.n_matured == 0 and report.ks is None


def test_monitor_rates_and_matured(card: Scorecard) -> None:
    records = [
        {"age": 20, "housing": "rent", "decision": "approve", "rule_hits": [], "creditability": "bad"},
        {"age": 30, "housing": "own", "decision": "decline", "rule_hits": "R1;R2", "creditability": None},
        {"age": 45, "housing": "own", "decision": "approve", "rule_hits": "", "creditability": "good"},
        {"age": 35, "housing": "own", "decision": "decline", "rule_hits": ["R1"], "creditability": "good"},
    ]
    report = monitor(card, records)
    assert report.approval_rate == 0.5
    assert report.rule_hit_rates == {"R1": 0.5, "R2": 0.25}
    assert report.n_matured == 3
    assert report.matured_bad_rate == pytest.approx(1 / 3)
    assert report.auc == pytest.approx(1.0)
    assert report.gini == pytest.approx(1.0)
    assert report.ks == pytest.approx(1.0)
    d = report.to_dict()
    assert d["n_records"] == 4 and d["score_psi"]["name"] == "score"


def test_monitor_stored_score_and_errors(card: Scorecard) -> None:
    report = monitor(card, [{"score": "530"}], score_field="score")
    assert report.mean_score == 530
    with pytest.raises(ValidationError) as info:
        monitor(card, [])
    assert info.value.code == "EMPTY_DATA"
    with pytest.raises(ValidationError):
        monitor(card, [{"score": "abc"}], score_field="score")
