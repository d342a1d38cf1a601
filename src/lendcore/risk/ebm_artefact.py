"""Loading and validating a ``lendcore.ebm/1`` artefact into an :class:`~lendcore.risk.ebm.EbmModel`.

Request path: standard library only. Every table's shape is checked against its features' bins
(see :mod:`lendcore.risk.ebm` for the format); faults raise ``ConfigurationError`` with a stable
``EBM_*`` code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from itertools import pairwise, product
from pathlib import Path
from typing import Any, Final

from lendcore.core.errors import ConfigurationError
from lendcore.risk.artefact_fields import FieldReader
from lendcore.risk.ebm import ARTEFACT_FILE, FORMAT_ID, LINKS, BinLevel, EbmFeature, EbmModel, Term
from lendcore.risk.scorecard import (
    MISSING_LABEL,
    OTHER_LABEL,
    Scaling,
    category_key,
    parse_bands,
    parse_dev_distribution,
)

E_NOT_FOUND: Final = "EBM_NOT_FOUND"
E_MALFORMED: Final = "EBM_MALFORMED"
E_UNSUPPORTED_FORMAT: Final = "EBM_UNSUPPORTED_FORMAT"
E_INVALID_FIELD: Final = "EBM_INVALID_FIELD"
E_BAD_BINS: Final = "EBM_BAD_BINS"
E_BAD_TERM: Final = "EBM_BAD_TERM"
E_DUPLICATE_FEATURE: Final = "EBM_DUPLICATE_FEATURE"

_F = FieldReader("ebm", E_INVALID_FIELD, E_BAD_BINS)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _numerical_level(name: str, raw: Any, path: str) -> BinLevel:
    if not isinstance(raw, list):
        raise _F.invalid(path, "must be a list of cuts")
    cuts = tuple(_F.as_number(c, f"{path}[{i}]") for i, c in enumerate(raw))
    if any(b <= a for a, b in pairwise(cuts)):
        raise _F.invalid(path, "cuts must strictly increase", E_BAD_BINS)
    bounds = [-math.inf, *cuts, math.inf]
    ranges = [
        f"[{_fmt(bounds[i])}, {_fmt(bounds[i + 1])})" if i else f"(-inf, {_fmt(bounds[1])})"
        for i in range(len(cuts) + 1)
    ]
    return BinLevel(name, cuts, None, (MISSING_LABEL, *ranges, OTHER_LABEL))


def _categorical_level(name: str, raw: Any, path: str) -> BinLevel:
    obj = _F.mapping(raw, path)
    if not obj:
        raise _F.invalid(path, "must list at least one category", E_BAD_BINS)
    lookup: dict[str, int] = {}
    for cat, b in obj.items():
        if not isinstance(b, int) or isinstance(b, bool) or b < 1:
            raise _F.invalid(f"{path}.{cat}", "bin must be an integer ≥ 1", E_BAD_BINS)
        lookup[str(cat)] = b
    n = max(lookup.values())
    members: list[list[str]] = [[] for _ in range(n + 1)]
    for cat, b in lookup.items():
        members[b].append(cat)
    labels = (MISSING_LABEL, *(", ".join(m) if m else "(empty)" for m in members[1:]), OTHER_LABEL)
    return BinLevel(name, None, lookup, labels)


def _parse_feature(raw: Any, path: str) -> EbmFeature:
    obj = _F.mapping(raw, path)
    name = _F.text(obj, "name", path)
    kind = _F.get(obj, "kind", path)
    levels_raw = _F.items(obj, "levels", path)
    if not levels_raw:
        raise _F.invalid(f"{path}.levels", "must have at least one level", E_BAD_BINS)
    if kind == "numerical":
        make = _numerical_level
    elif kind == "categorical":
        make = _categorical_level
    else:
        raise _F.invalid(f"{path}.kind", f"must be 'numerical' or 'categorical', not {kind!r}")
    levels = tuple(make(name, lv, f"{path}.levels[{i}]") for i, lv in enumerate(levels_raw))
    return EbmFeature(name, kind, levels)


def _flatten(raw: Any, shape: Sequence[int], path: str) -> list[float]:
    if not isinstance(raw, list) or len(raw) != shape[0]:
        raise _F.invalid(path, f"must be a list of {shape[0]} (the bins of its axis)", E_BAD_TERM)
    if len(shape) == 1:
        return [_F.as_number(v, f"{path}[{i}]") for i, v in enumerate(raw)]
    out: list[float] = []
    for i, row in enumerate(raw):
        out.extend(_flatten(row, shape[1:], f"{path}[{i}]"))
    return out


def _parse_terms(
    raw: list[Any], features: Mapping[str, EbmFeature], factor: float
) -> tuple[tuple[Term, ...], tuple[tuple[str, BinLevel], ...]]:
    slots: dict[tuple[str, int], int] = {}
    slot_levels: list[tuple[str, BinLevel]] = []
    terms: list[Term] = []
    for t, item in enumerate(raw):
        path = f"terms[{t}]"
        obj = _F.mapping(item, path)
        name = _F.text(obj, "name", path)
        names = _F.items(obj, "features", path)
        levels = _F.items(obj, "levels", path)
        if not names or len(names) != len(levels) or len(set(map(str, names))) != len(names):
            raise _F.invalid(path, "needs distinct features and one level per feature", E_BAD_TERM)
        axes: list[BinLevel] = []
        term_slots: list[int] = []
        for name_k, level_k in zip(names, levels, strict=True):
            feature = features.get(str(name_k))
            if feature is None:
                raise _F.invalid(f"{path}.features", f"unknown feature {name_k!r}", E_BAD_TERM)
            if (
                not isinstance(level_k, int)
                or isinstance(level_k, bool)
                or not 0 <= level_k < len(feature.levels)
            ):
                raise _F.invalid(f"{path}.levels", f"no level {level_k!r} for {name_k!r}", E_BAD_TERM)
            key = (feature.name, level_k)
            if key not in slots:
                slots[key] = len(slot_levels)
                slot_levels.append((feature.name, feature.levels[level_k]))
            term_slots.append(slots[key])
            axes.append(feature.levels[level_k])
        shape = [a.n_bins for a in axes]
        scores = _flatten(_F.get(obj, "scores", path), shape, f"{path}.scores")
        strides = [math.prod(shape[k + 1 :]) for k in range(len(shape))]
        points = tuple(-factor * x + 0.0 for x in scores)  # + 0.0: no −0 points
        terms.append(
            Term(
                name,
                tuple(str(n) for n in names),
                tuple(term_slots),
                tuple(strides),
                tuple(scores),
                tuple(a.labels for a in axes),
                tuple(" × ".join(cell) for cell in product(*(a.labels for a in axes))),
                points,
                max(points),
            )
        )
    return tuple(terms), tuple(slot_levels)


def parse_ebm(data: Any) -> EbmModel:
    """Validate a decoded ``lendcore.ebm/1`` artefact and build the scorer. Raises ConfigurationError."""
    obj = _F.mapping(data, "(root)")
    fmt = obj.get("format")
    if fmt != FORMAT_ID:
        raise ConfigurationError(
            f"unsupported EBM format {fmt!r} (expected {FORMAT_ID!r})", code=E_UNSUPPORTED_FORMAT, format=fmt
        )
    link = _F.get(obj, "link", "")
    if link not in LINKS:
        raise _F.invalid("link", f"must be one of {', '.join(LINKS)}, not {link!r}")
    so = _F.mapping(_F.get(obj, "scaling", ""), "scaling")
    scaling = Scaling(
        pdo=_F.number(so, "pdo", "scaling", positive=True),
        base_score=_F.number(so, "base_score", "scaling"),
        base_odds=_F.number(so, "base_odds", "scaling", positive=True),
    )
    features = tuple(_parse_feature(f, f"features[{i}]") for i, f in enumerate(_F.items(obj, "features", "")))
    by_name = {f.name: f for f in features}
    if len(by_name) != len(features):
        names = [f.name for f in features]
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigurationError(f"ebm lists feature(s) twice: {', '.join(dup)}", code=E_DUPLICATE_FEATURE)
    terms, slots = _parse_terms(_F.items(obj, "terms", ""), by_name, scaling.factor)
    metrics = obj.get("metrics", {})
    if not isinstance(metrics, Mapping):
        raise _F.invalid("metrics", "must be an object")
    dev_score, dev_features = parse_dev_distribution(obj.get("dev_distribution"), _F)
    return EbmModel(
        model_id=_F.text(obj, "model_id", ""),
        version=_F.text(obj, "version", ""),
        trained_at=_F.text(obj, "trained_at", ""),
        target=_F.text(obj, "target", ""),
        bad_value=category_key(_F.get(obj, "bad_value", "")),
        link=str(link),
        intercept=_F.number(obj, "intercept", ""),
        scaling=scaling,
        features=features,
        terms=terms,
        score_bands=parse_bands(obj.get("score_bands"), _F),
        dev_score_distribution=dev_score,
        dev_feature_distributions=dev_features,
        metrics=dict(metrics),
        _slots=slots,
    )


def loads_ebm(text: str) -> EbmModel:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"EBM artefact is not valid JSON: {exc}", code=E_MALFORMED) from exc
    return parse_ebm(data)


def load_ebm(path: str | Path) -> EbmModel:
    """Load and validate a ``lendcore.ebm/1`` file (or a directory holding ``ebm.json``)."""
    p = Path(path)
    if p.is_dir():
        p = p / ARTEFACT_FILE
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigurationError(f"EBM artefact not found: {p}", code=E_NOT_FOUND, path=str(p)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read EBM artefact {p}: {exc}", code=E_MALFORMED) from exc
    return loads_ebm(text)
