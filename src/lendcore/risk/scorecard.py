"""Credit scorecard artefact (``lendcore.scorecard/1``) and its plain-Python scorer.

This module is on the request path: it imports nothing beyond the standard library, and scoring an
application costs a few microseconds (one ``bisect`` per numerical feature, one ``dict`` lookup per
categorical feature, all lookups prepared when the artefact is loaded).

Artefact (JSON)::

    {"format": "lendcore.scorecard/1", "model_id": str, "version": str, "trained_at": str,
     "target": str, "bad_value": str,
     "scaling": {"pdo": float, "base_score": float, "base_odds": float},
     "base_points": int,
     "features": [
        {"name": str, "kind": "numerical",
         "bins": [{"upper": float | null, "points": int, "label": str}, ...],
         "missing_points": int},
        {"name": str, "kind": "categorical",
         "bins": [{"categories": [str, ...], "points": int, "label": str}, ...],
         "other_points": int, "missing_points": int}],
     "score_bands": [{"grade": str, "min_score": int | null, "max_score": int | null, ...}],
     "dev_distribution": {"score": {"edges": [float, ...], "shares": [float, ...]},
                          "features": {name: {bin label: share}}},
     "metrics": {...}}

Semantics:

* Numerical bins are right-open and ordered: a value goes to the first bin with ``value < upper``;
  the last bin has ``upper: null`` (+∞). ``None``, NaN and ``""`` are *missing* → ``missing_points``.
* Categorical values are compared as text (see :func:`category_key`: ``2`` and ``2.0`` both read
  ``"2"``). A category no bin lists → ``other_points``; missing → ``missing_points``.
* ``score = base_points + Σ feature points``. Higher score = lower risk. The scaling maps a score to
  odds of good:bad as ``score = offset + factor · ln(odds_good)`` with ``factor = pdo / ln 2`` and
  ``offset = base_score − factor · ln(base_odds)``: ``base_score`` points means ``base_odds``:1 good
  to bad, and every ``pdo`` points double the odds.
* Score bands (``min_score`` inclusive, ``max_score`` exclusive, ``null`` = unbounded) map a score
  to a grade; they are ordered from the best grade to the worst.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any, Final, cast

from lendcore.core.errors import ConfigurationError, ValidationError
from lendcore.risk.artefact_fields import FieldReader

FORMAT_ID: Final = "lendcore.scorecard/1"
#: Directory (inside the package) holding the shipped default model.
DEFAULT_MODEL: Final = "german-credit-v1"
#: Labels used for the two implicit bins of every feature.
MISSING_LABEL: Final = "Missing"
OTHER_LABEL: Final = "Other"

FeatureValue = float | int | str | None

# Stable error codes (clients and tests switch on them).
E_NOT_FOUND: Final = "SCORECARD_NOT_FOUND"
E_MALFORMED: Final = "SCORECARD_MALFORMED"
E_UNSUPPORTED_FORMAT: Final = "SCORECARD_UNSUPPORTED_FORMAT"
E_INVALID_FIELD: Final = "SCORECARD_INVALID_FIELD"
E_BAD_BINS: Final = "SCORECARD_BAD_BINS"
E_DUPLICATE_FEATURE: Final = "SCORECARD_DUPLICATE_FEATURE"
E_INVALID_FEATURE_VALUE: Final = "INVALID_FEATURE_VALUE"


# --- value normalisation (shared with training so both sides bin identically) ------------------
def is_missing(value: object) -> bool:
    """True for ``None``, NaN and the empty string."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value  # NaN
    if isinstance(value, str):
        return value.strip() == ""
    return False


def category_key(value: object) -> str:
    """The text under which a categorical value is looked up (``2``, ``2.0`` and ``"2"`` → ``"2"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value)


def as_number(feature: str, value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValidationError(
        f"feature {feature!r} is numerical; got {value!r}",
        code=E_INVALID_FEATURE_VALUE,
        feature=feature,
    )


# --- the model ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scaling:
    """PDO / base-odds scaling: ``score = offset + factor · ln(odds_good)``."""

    pdo: float
    base_score: float
    base_odds: float

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def probability_bad(self, score: float) -> float:
        """Probability of bad implied by ``score`` (inverse of the scaling)."""
        log_odds_good = (score - self.offset) / self.factor
        if log_odds_good >= 0:
            return math.exp(-log_odds_good) / (1.0 + math.exp(-log_odds_good))
        return 1.0 / (1.0 + math.exp(log_odds_good))

    def score_for_probability(self, probability_bad: float) -> float:
        """Unrounded score for a probability of bad (0 < p < 1)."""
        return self.offset + self.factor * math.log((1.0 - probability_bad) / probability_bad)


@dataclass(frozen=True, slots=True)
class NumericalBin:
    upper: float | None  # exclusive; None = +∞ (last bin only)
    points: int
    label: str


@dataclass(frozen=True, slots=True)
class CategoricalBin:
    categories: tuple[str, ...]
    points: int
    label: str


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's part of a score."""

    feature: str
    value: FeatureValue
    bin: str  # bin label, or MISSING_LABEL / OTHER_LABEL
    points: int
    #: Best points this feature can give; ``max_points - points`` is what the value cost (reasons).
    max_points: int


@dataclass(frozen=True, slots=True)
class NumericalFeature:
    name: str
    bins: tuple[NumericalBin, ...]
    missing_points: int
    _edges: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _max_points: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_edges", tuple(b.upper for b in self.bins[:-1]))
        best = max([b.points for b in self.bins] + [self.missing_points])
        object.__setattr__(self, "_max_points", best)

    kind = "numerical"

    @property
    def max_points(self) -> int:
        return self._max_points

    @property
    def labels(self) -> tuple[str, ...]:
        return (*(b.label for b in self.bins), MISSING_LABEL)

    def assign(self, value: FeatureValue) -> tuple[str, int]:
        """(bin label, points) for ``value``."""
        cls = value.__class__
        if (cls is int or cls is float) and value == value:  # fast path: a present number
            b = self.bins[bisect_right(self._edges, cast(float, value))]
            return b.label, b.points
        if is_missing(value):
            return MISSING_LABEL, self.missing_points
        x = as_number(self.name, value)
        if x != x:
            return MISSING_LABEL, self.missing_points
        b = self.bins[bisect_right(self._edges, x)]
        return b.label, b.points


@dataclass(frozen=True, slots=True)
class CategoricalFeature:
    name: str
    bins: tuple[CategoricalBin, ...]
    other_points: int
    missing_points: int
    _lookup: Mapping[str, CategoricalBin] = field(init=False, repr=False, compare=False)
    _max_points: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup = {c: b for b in self.bins for c in b.categories}
        object.__setattr__(self, "_lookup", lookup)
        best = max([b.points for b in self.bins] + [self.missing_points, self.other_points])
        object.__setattr__(self, "_max_points", best)

    kind = "categorical"

    @property
    def max_points(self) -> int:
        return self._max_points

    @property
    def labels(self) -> tuple[str, ...]:
        return (*(b.label for b in self.bins), OTHER_LABEL, MISSING_LABEL)

    def assign(self, value: FeatureValue) -> tuple[str, int]:
        """(bin label, points) for ``value``."""
        if value.__class__ is str and value:  # fast path: non-empty text
            b = self._lookup.get(value)
            if b is not None:
                return b.label, b.points
        if is_missing(value):
            return MISSING_LABEL, self.missing_points
        b = self._lookup.get(category_key(value))
        if b is None:
            return OTHER_LABEL, self.other_points
        return b.label, b.points


Feature = NumericalFeature | CategoricalFeature


@dataclass(frozen=True, slots=True)
class ScoreBand:
    grade: str
    min_score: int | None  # inclusive; None = -∞
    max_score: int | None  # exclusive; None = +∞

    def contains(self, score: int) -> bool:
        return (self.min_score is None or score >= self.min_score) and (
            self.max_score is None or score < self.max_score
        )


@dataclass(frozen=True, slots=True)
class ScoreDistribution:
    """Development-sample score histogram: bins right-open over ``edges``; len(shares) = len(edges)+1."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    def bin_index(self, score: float) -> int:
        return bisect_right(self.edges, score)


@dataclass(frozen=True, slots=True)
class ScoreResult:
    score: int
    probability_bad: float
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Scorecard:
    model_id: str
    version: str
    trained_at: str
    target: str
    bad_value: str
    scaling: Scaling
    base_points: int
    features: tuple[Feature, ...]
    score_bands: tuple[ScoreBand, ...]
    dev_score_distribution: ScoreDistribution | None
    #: feature name → {bin label: share of the development sample}
    dev_feature_distributions: Mapping[str, Mapping[str, float]]
    metrics: Mapping[str, Any]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def min_score(self) -> int:
        return self.base_points + sum(
            min([b.points for b in f.bins] + [f.missing_points] + _other(f)) for f in self.features
        )

    @property
    def max_score(self) -> int:
        return self.base_points + sum(f.max_points for f in self.features)

    def score(self, features: Mapping[str, FeatureValue]) -> ScoreResult:
        """Score one application. Absent features count as missing; extra keys are ignored."""
        total = self.base_points
        contributions: list[Contribution] = []
        get = features.get
        for feature in self.features:
            value = get(feature.name)
            label, points = feature.assign(value)
            total += points
            contributions.append(Contribution(feature.name, value, label, points, feature.max_points))
        return ScoreResult(total, self.scaling.probability_bad(total), tuple(contributions))

    def grade(self, score: int) -> str | None:
        """The grade of the score band holding ``score`` (None if the card has no bands)."""
        for band in self.score_bands:
            if band.contains(score):
                return band.grade
        return None


def _other(f: Feature) -> list[int]:
    return [f.other_points] if isinstance(f, CategoricalFeature) else []


# --- loading and validation ---------------------------------------------------------------------
_SC = FieldReader("scorecard", E_INVALID_FIELD, E_BAD_BINS)
_invalid = _SC.invalid
_get = _SC.get
_str = _SC.text
_int = _SC.integer
_num = _SC.number
_list = _SC.items
_obj = _SC.mapping


def _parse_feature(raw: Any, path: str) -> Feature:
    obj = _obj(raw, path)
    name = _str(obj, "name", path)
    kind = _get(obj, "kind", path)
    bins_raw = _list(obj, "bins", path)
    if not bins_raw:
        raise _invalid(f"{path}.bins", "must have at least one bin", E_BAD_BINS)
    missing_points = _int(obj, "missing_points", path)
    if kind == "numerical":
        nbins: list[NumericalBin] = []
        for i, b in enumerate(bins_raw):
            bpath = f"{path}.bins[{i}]"
            bo = _obj(b, bpath)
            upper_raw = _get(bo, "upper", bpath)
            last = i == len(bins_raw) - 1
            if last:
                if upper_raw is not None:
                    raise _invalid(f"{bpath}.upper", "must be null on the last bin", E_BAD_BINS)
                upper = None
            else:
                upper = _num(bo, "upper", bpath)
                if nbins and nbins[-1].upper is not None and upper <= nbins[-1].upper:
                    raise _invalid(f"{bpath}.upper", "bin edges must strictly increase", E_BAD_BINS)
            nbins.append(NumericalBin(upper, _int(bo, "points", bpath), _str(bo, "label", bpath)))
        return NumericalFeature(name, tuple(nbins), missing_points)
    if kind == "categorical":
        cbins: list[CategoricalBin] = []
        seen: set[str] = set()
        for i, b in enumerate(bins_raw):
            bpath = f"{path}.bins[{i}]"
            bo = _obj(b, bpath)
            cats = _list(bo, "categories", bpath)
            if not cats or not all(isinstance(c, str) for c in cats):
                raise _invalid(f"{bpath}.categories", "must be a non-empty list of strings")
            dup = seen.intersection(cats)
            if dup or len(set(cats)) != len(cats):
                raise _invalid(f"{bpath}.categories", f"category listed twice: {sorted(dup)!r}", E_BAD_BINS)
            seen.update(cats)
            cbins.append(CategoricalBin(tuple(cats), _int(bo, "points", bpath), _str(bo, "label", bpath)))
        return CategoricalFeature(name, tuple(cbins), _int(obj, "other_points", path), missing_points)
    raise _invalid(f"{path}.kind", f"must be 'numerical' or 'categorical', not {kind!r}")


def parse_bands(raw: Any, reader: FieldReader = _SC) -> tuple[ScoreBand, ...]:
    """Score bands (see the module docstring); faults name the artefact family of ``reader``."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise reader.invalid("score_bands", "must be a list")
    bands: list[ScoreBand] = []
    for i, b in enumerate(raw):
        path = f"score_bands[{i}]"
        bo = reader.mapping(b, path)
        lo, hi = bo.get("min_score"), bo.get("max_score")
        for key, v in (("min_score", lo), ("max_score", hi)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise reader.invalid(f"{path}.{key}", "must be an integer or null")
        if lo is not None and hi is not None and lo >= hi:
            raise reader.invalid(path, "min_score must be below max_score", reader.bad_bins_code)
        bands.append(ScoreBand(reader.text(bo, "grade", path), lo, hi))
    return tuple(bands)


def parse_dev_distribution(
    raw: Any, reader: FieldReader = _SC
) -> tuple[ScoreDistribution | None, dict[str, dict[str, float]]]:
    """The development score and feature-bin distributions (for monitoring)."""
    if raw is None:
        return None, {}
    obj = reader.mapping(raw, "dev_distribution")
    score: ScoreDistribution | None = None
    if obj.get("score") is not None:
        so = reader.mapping(obj["score"], "dev_distribution.score")
        edges = reader.items(so, "edges", "dev_distribution.score")
        shares = reader.items(so, "shares", "dev_distribution.score")
        if len(shares) != len(edges) + 1:
            raise reader.invalid(
                "dev_distribution.score", "needs len(shares) == len(edges) + 1", reader.bad_bins_code
            )
        if any(not isinstance(x, (int, float)) for x in [*edges, *shares]):
            raise reader.invalid("dev_distribution.score", "edges and shares must be numbers")
        if any(b <= a for a, b in pairwise(edges)):
            raise reader.invalid(
                "dev_distribution.score.edges", "must strictly increase", reader.bad_bins_code
            )
        score = ScoreDistribution(tuple(float(e) for e in edges), tuple(float(s) for s in shares))
    feats: dict[str, dict[str, float]] = {}
    fo = reader.mapping(obj.get("features", {}), "dev_distribution.features")
    for name, dist in fo.items():
        d = reader.mapping(dist, f"dev_distribution.features.{name}")
        if any(not isinstance(v, (int, float)) for v in d.values()):
            raise reader.invalid(f"dev_distribution.features.{name}", "shares must be numbers")
        feats[str(name)] = {str(k): float(v) for k, v in d.items()}
    return score, feats


def parse_scorecard(data: Any) -> Scorecard:
    """Validate a decoded artefact and build the scorer. Raises ConfigurationError."""
    obj = _obj(data, "(root)")
    fmt = obj.get("format")
    if fmt != FORMAT_ID:
        raise ConfigurationError(
            f"unsupported scorecard format {fmt!r} (expected {FORMAT_ID!r})",
            code=E_UNSUPPORTED_FORMAT,
            format=fmt,
        )
    scaling_obj = _obj(_get(obj, "scaling", ""), "scaling")
    scaling = Scaling(
        pdo=_num(scaling_obj, "pdo", "scaling", positive=True),
        base_score=_num(scaling_obj, "base_score", "scaling"),
        base_odds=_num(scaling_obj, "base_odds", "scaling", positive=True),
    )
    features_raw = _list(obj, "features", "")
    features = tuple(_parse_feature(f, f"features[{i}]") for i, f in enumerate(features_raw))
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigurationError(
            f"scorecard lists feature(s) twice: {', '.join(dup)}", code=E_DUPLICATE_FEATURE
        )
    dev_score, dev_feats = parse_dev_distribution(obj.get("dev_distribution"))
    metrics = obj.get("metrics", {})
    if not isinstance(metrics, Mapping):
        raise _invalid("metrics", "must be an object")
    bad_value = _get(obj, "bad_value", "")
    return Scorecard(
        model_id=_str(obj, "model_id", ""),
        version=_str(obj, "version", ""),
        trained_at=_str(obj, "trained_at", ""),
        target=_str(obj, "target", ""),
        bad_value=category_key(bad_value),
        scaling=scaling,
        base_points=_int(obj, "base_points", ""),
        features=features,
        score_bands=parse_bands(obj.get("score_bands")),
        dev_score_distribution=dev_score,
        dev_feature_distributions=dev_feats,
        metrics=dict(metrics),
    )


def loads_scorecard(text: str) -> Scorecard:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"scorecard is not valid JSON: {exc}", code=E_MALFORMED) from exc
    return parse_scorecard(data)


def load_scorecard(path: str | Path) -> Scorecard:
    """Load and validate a ``lendcore.scorecard/1`` JSON file (or a directory holding scorecard.json)."""
    p = Path(path)
    if p.is_dir():
        p = p / "scorecard.json"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigurationError(f"scorecard file not found: {p}", code=E_NOT_FOUND, path=str(p)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read scorecard {p}: {exc}", code=E_MALFORMED) from exc
    return loads_scorecard(text)


def default_model_path() -> Path:
    """Path of the shipped default model's artefact."""
    ref = resources.files("lendcore.risk") / "models" / DEFAULT_MODEL / "scorecard.json"
    return Path(str(ref))


@cache
def default_scorecard() -> Scorecard:
    """The shipped default model (loaded once per process)."""
    return load_scorecard(default_model_path())


def bands_from_cutoffs(grades: Sequence[str], cutoffs: Sequence[int]) -> list[dict[str, Any]]:
    """Score bands (best grade first) from ascending cutoffs: len(cutoffs) == len(grades) - 1."""
    if len(cutoffs) != len(grades) - 1:
        raise ValueError("need one cutoff fewer than grades")
    ups = sorted(cutoffs)
    bands: list[dict[str, Any]] = []
    # worst grade is last: grades[-1] has score < ups[0]
    for i, grade in enumerate(reversed(grades)):
        lo = ups[i - 1] if i > 0 else None
        hi = ups[i] if i < len(ups) else None
        bands.append({"grade": grade, "min_score": lo, "max_score": hi})
    bands.reverse()
    return bands
