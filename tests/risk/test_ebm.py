"""The lendcore.ebm/1 artefact and its plain-Python scorer (request path)."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ConfigurationError, ValidationError
from lendcore.risk.artefacts import load_model, parse_model
from lendcore.risk.ebm import EbmModel
from lendcore.risk.ebm_artefact import load_ebm, parse_ebm
from lendcore.risk.scorecard import Scorecard

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny_ebm.json"
RAW: dict[str, Any] = json.loads(TINY.read_text(encoding="utf-8"))
MODEL = load_ebm(TINY)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_the_scorer_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, lendcore.risk.ebm, lendcore.risk.ebm_artefact, lendcore.risk.artefacts; "
        "heavy = {'numpy', 'pandas', 'sklearn', 'interpret', 'optbinning', 'lightgbm'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_value_on_a_cut_goes_to_the_upper_bin() -> None:
    (level, _) = MODEL.features[0].levels  # cuts 12, 24
    assert [level.index(v) for v in (11.9, 12, 12.0, 23.99, 24, 1e9, math.inf, -math.inf)] == [
        1,
        2,
        2,
        2,
        3,
        3,
        3,
        1,
    ]


@pytest.mark.parametrize("missing", [None, math.nan, "", "  "])
def test_missing_values_go_to_bin_zero(missing: object) -> None:
    for feature in MODEL.features:
        assert feature.levels[0].index(missing) == 0  # type: ignore[arg-type]


def test_categories_are_looked_up_as_text_and_unseen_ones_go_to_the_last_bin() -> None:
    level = MODEL.features[1].levels[0]
    assert level.index("car (new)") == 1
    assert level.index("radio/television") == level.index("furniture/equipment") == 2
    assert level.index("castle") == level.n_bins - 1 == 3
    assert level.labels == ("Missing", "car (new)", "radio/television, furniture/equipment", "Other")


def test_numeric_text_is_a_number_and_other_text_is_rejected() -> None:
    level = MODEL.features[0].levels[0]
    assert level.index("12") == 2
    with pytest.raises(ValidationError) as info:
        level.index("twelve")
    assert info.value.code == "INVALID_FEATURE_VALUE"


def test_score_is_the_intercept_plus_the_terms_on_the_logit_scale() -> None:
    row = {"duration_in_month": 20, "purpose": "radio/television", "age_in_years": 45}
    # duration bin 2 (0.0), purpose bin 2 (−0.15), age bin 2 (−0.1), pair: duration level 1 bin 2 × purpose 2
    logit = -0.9 + 0.0 - 0.15 - 0.1 + 0.03
    result = MODEL.score(row)
    assert result.log_odds == pytest.approx(logit, abs=1e-15)
    assert result.probability_bad == pytest.approx(_sigmoid(logit), abs=1e-15)
    factor = 20 / math.log(2)
    assert result.score == round(600 - factor * math.log(50) - factor * logit)
    assert [c.feature for c in result.contributions] == [t["name"] for t in RAW["terms"]]
    pair = result.contributions[3]
    assert pair.value == (20, "radio/television")
    assert pair.bin == "[18, inf) × radio/television, furniture/equipment"
    assert pair.log_odds == pytest.approx(0.03)


@given(
    duration=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-100, 100)),
    purpose=st.one_of(st.none(), st.sampled_from(["car (new)", "radio/television", "castle", ""])),
    age=st.one_of(st.none(), st.integers(0, 120)),
)
def test_contributions_add_up_to_the_score_and_never_exceed_their_best(
    duration: float | int | None, purpose: str | None, age: int | None
) -> None:
    result = MODEL.score({"duration_in_month": duration, "purpose": purpose, "age_in_years": age})
    unrounded = MODEL.base_points + sum(c.points for c in result.contributions)
    assert abs(unrounded - result.score) <= 0.5 + 1e-9
    assert result.probability_bad == pytest.approx(_sigmoid(result.log_odds), abs=1e-15)
    assert all(c.points <= c.max_points + 1e-12 for c in result.contributions)
    assert MODEL.log_odds({"duration_in_month": duration, "purpose": purpose, "age_in_years": age}) == (
        result.log_odds
    )


def test_absent_features_count_as_missing() -> None:
    assert MODEL.score({}).log_odds == pytest.approx(-0.9 + 0.1 + 0.05 + 0.0 + 0.0)


def _mutated(path: list[Any], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        (["format"], "lendcore.ebm/2", "EBM_UNSUPPORTED_FORMAT"),
        (["link"], "probit", "EBM_INVALID_FIELD"),
        (["intercept"], KeyError, "EBM_INVALID_FIELD"),
        (["intercept"], "0.1", "EBM_INVALID_FIELD"),
        (["scaling", "pdo"], 0, "EBM_INVALID_FIELD"),
        (["features", 0, "levels", 0], [24, 12], "EBM_BAD_BINS"),
        (["features", 0, "levels"], [], "EBM_BAD_BINS"),
        (["features", 0, "kind"], "ordinal", "EBM_INVALID_FIELD"),
        (["features", 1, "levels", 0, "car (new)"], 0, "EBM_BAD_BINS"),
        (["features", 2, "name"], "purpose", "EBM_DUPLICATE_FEATURE"),
        (["terms", 0, "scores"], [0.1, -0.3, 0.0, 0.4], "EBM_BAD_TERM"),
        (["terms", 3, "scores", 1], [0.0, 0.05, -0.02], "EBM_BAD_TERM"),
        (["terms", 3, "levels"], [2, 0], "EBM_BAD_TERM"),
        (["terms", 2, "features"], ["income"], "EBM_BAD_TERM"),
        (["terms", 3, "features"], ["purpose", "purpose"], "EBM_BAD_TERM"),
        (["terms", 1, "scores", 0], math.nan, "EBM_INVALID_FIELD"),
        (["score_bands", 0, "min_score"], 530.5, "EBM_INVALID_FIELD"),
    ],
)
def test_an_invalid_artefact_is_refused_with_a_stable_code(path: list[Any], value: Any, code: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_ebm(_mutated(path, value))
    assert info.value.code == code


def test_load_model_dispatches_on_the_format(tmp_path: Path) -> None:
    assert isinstance(load_model(TINY), EbmModel)
    assert isinstance(load_model(FIXTURES / "tiny_scorecard.json"), Scorecard)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "ebm.json").write_text(TINY.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_model(model_dir).model_id == "tiny-ebm"
    (model_dir / "scorecard.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigurationError) as ambiguous:
        load_model(model_dir)
    assert ambiguous.value.code == "MODEL_AMBIGUOUS"
    with pytest.raises(ConfigurationError) as unknown:
        parse_model({"format": "other"})
    assert unknown.value.code == "SCORECARD_UNSUPPORTED_FORMAT"
    with pytest.raises(ConfigurationError) as missing:
        load_model(tmp_path / "nothing.json")
    assert missing.value.code == "SCORECARD_NOT_FOUND"


def test_the_explanation_is_of_the_values_scored_even_if_the_input_changes_later() -> None:
    features: dict[str, Any] = {"duration_in_month": 6, "purpose": "car (new)", "age_in_years": 22}
    result = MODEL.score(features)
    before = result.contributions
    features.update(duration_in_month=40, purpose="castle", age_in_years=None)
    assert result.contributions == before
    assert [c.value for c in before[:3]] == [6, "car (new)", 22]
    assert MODEL.score(features).contributions != before
