"""Scorecard artefact semantics and validation (plain-Python scorer)."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lendcore.core.errors import ConfigurationError, ValidationError
from lendcore.risk.scorecard import (
    FORMAT_ID,
    MISSING_LABEL,
    OTHER_LABEL,
    Scaling,
    Scorecard,
    category_key,
    default_scorecard,
    load_scorecard,
    loads_scorecard,
    parse_scorecard,
)

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_scorecard.json"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def card() -> Scorecard:
    return load_scorecard(FIXTURE)


def test_loads_fixture(card: Scorecard) -> None:
    assert card.model_id == "tiny"
    assert card.version == "1"
    assert card.feature_names == ("age", "housing")
    assert card.min_score == 500 - 10 - 5
    assert card.max_score == 500 + 15 + 10


@pytest.mark.parametrize(
    ("age", "label", "points"),
    [
        (-5, "(-inf, 25)", -10),
        (24.999, "(-inf, 25)", -10),
        (25, "[25, 40)", 5),  # right-open: the edge belongs to the next bin
        (39.99, "[25, 40)", 5),
        (40, "[40, inf)", 15),
        (1e12, "[40, inf)", 15),
        ("33", "[25, 40)", 5),  # numeric text is accepted
        (None, MISSING_LABEL, 0),
        (float("nan"), MISSING_LABEL, 0),
        ("", MISSING_LABEL, 0),
    ],
)
def test_numerical_bins(card: Scorecard, age: Any, label: str, points: int) -> None:
    result = card.score({"age": age, "housing": "own"})
    c = result.contributions[0]
    assert (c.feature, c.bin, c.points) == ("age", label, points)
    assert result.score == 500 + points + 10


@pytest.mark.parametrize(
    ("housing", "label", "points"),
    [
        ("own", "own", 10),
        ("rent", "rent, for free", -5),
        ("for free", "rent, for free", -5),
        ("castle", OTHER_LABEL, 0),  # unseen category
        ("Own", OTHER_LABEL, 0),  # categories are exact text
        (None, MISSING_LABEL, -2),
    ],
)
def test_categorical_bins(card: Scorecard, housing: Any, label: str, points: int) -> None:
    result = card.score({"age": 30, "housing": housing})
    c = result.contributions[1]
    assert (c.bin, c.points, c.max_points) == (label, points, 10)
    assert result.score == 500 + 5 + points


def test_absent_features_are_missing_and_extra_keys_ignored(card: Scorecard) -> None:
    result = card.score({"unrelated": 1})
    assert result.score == 500 + 0 - 2
    assert [c.bin for c in result.contributions] == [MISSING_LABEL, MISSING_LABEL]


def test_non_numeric_value_for_numerical_feature(card: Scorecard) -> None:
    with pytest.raises(ValidationError) as info:
        card.score({"age": "thirty"})
    assert info.value.code == "INVALID_FEATURE_VALUE"


def test_scaling_probability(card: Scorecard) -> None:
    result = card.score({"age": 30, "housing": "own"})
    assert result.score == 515
    factor = 20 / math.log(2)
    offset = 600 - factor * math.log(50)
    odds_good = math.exp((515 - offset) / factor)
    assert result.probability_bad == pytest.approx(1 / (1 + odds_good))
    assert result.probability_bad == pytest.approx(0.2756, abs=1e-4)


def test_scaling_anchor_points() -> None:
    s = Scaling(pdo=20, base_score=600, base_odds=50)
    assert s.probability_bad(600) == pytest.approx(1 / 51)  # 50:1 good:bad at the base score
    assert s.probability_bad(620) == pytest.approx(1 / 101)  # pdo points double the odds
    assert s.score_for_probability(1 / 51) == pytest.approx(600)
    assert 0.0 < s.probability_bad(-10_000) <= 1.0
    assert 0.0 <= s.probability_bad(10_000) < 1.0


def test_grades(card: Scorecard) -> None:
    assert card.grade(530) == "A"
    assert card.grade(520) == "A"
    assert card.grade(519) == "B"
    assert card.grade(500) == "B"
    assert card.grade(499) == "C"


def test_category_key() -> None:
    assert category_key(2) == "2"
    assert category_key(2.0) == "2"
    assert category_key("2") == "2"
    assert category_key(2.5) == "2.5"
    assert category_key(True) == "True"


def _broken(raw: dict[str, Any], mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(raw)
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.update(format="lendcore.scorecard/2"), "SCORECARD_UNSUPPORTED_FORMAT"),
        (lambda d: d.pop("format"), "SCORECARD_UNSUPPORTED_FORMAT"),
        (lambda d: d.pop("base_points"), "SCORECARD_INVALID_FIELD"),
        (lambda d: d.update(base_points=1.5), "SCORECARD_INVALID_FIELD"),
        (lambda d: d["scaling"].update(pdo=0), "SCORECARD_INVALID_FIELD"),
        (lambda d: d["scaling"].update(base_odds="x"), "SCORECARD_INVALID_FIELD"),
        (lambda d: d["features"][0].update(kind="ordinal"), "SCORECARD_INVALID_FIELD"),
        (lambda d: d["features"][0]["bins"][2].update(upper=99), "SCORECARD_BAD_BINS"),
        (lambda d: d["features"][0]["bins"][1].update(upper=10), "SCORECARD_BAD_BINS"),
        (lambda d: d["features"][0].update(bins=[]), "SCORECARD_BAD_BINS"),
        (lambda d: d["features"][1]["bins"][1].update(categories=["own"]), "SCORECARD_BAD_BINS"),
        (lambda d: d["features"][1].pop("other_points"), "SCORECARD_INVALID_FIELD"),
        (lambda d: d["features"].append(d["features"][0]), "SCORECARD_DUPLICATE_FEATURE"),
        (lambda d: d["dev_distribution"]["score"].update(shares=[1.0]), "SCORECARD_BAD_BINS"),
        (lambda d: d["score_bands"][0].update(min_score=600, max_score=500), "SCORECARD_BAD_BINS"),
    ],
)
def test_validation_errors(raw: dict[str, Any], mutate: Any, code: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_scorecard(_broken(raw, mutate))
    assert info.value.code == code


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_scorecard(tmp_path / "nope.json")
    assert info.value.code == "SCORECARD_NOT_FOUND"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_scorecard(bad)
    assert info.value.code == "SCORECARD_MALFORMED"
    with pytest.raises(ConfigurationError) as info:
        loads_scorecard("[]")
    assert info.value.code == "SCORECARD_INVALID_FIELD"


def test_directory_path_loads_scorecard_json(tmp_path: Path, raw: dict[str, Any]) -> None:
    (tmp_path / "scorecard.json").write_text(json.dumps(raw), encoding="utf-8")
    assert load_scorecard(tmp_path).model_id == "tiny"


def test_default_scorecard_ships_and_is_cached() -> None:
    card = default_scorecard()
    assert card is default_scorecard()
    assert len(card.features) >= 3
    assert card.metrics["cv_auc"] >= 0.79
    result = card.score({})
    assert card.min_score <= result.score <= card.max_score


def test_request_path_imports_no_heavy_library() -> None:
    code = (
        "import sys; from lendcore.risk.scorecard import default_scorecard; "
        "default_scorecard().score({}); "
        "heavy = {'numpy', 'pandas', 'sklearn', 'optbinning', 'matplotlib', 'scipy'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_format_id() -> None:
    assert FORMAT_ID == "lendcore.scorecard/1"
