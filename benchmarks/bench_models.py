"""Reference comparison: CV ROC AUC of the scorecard, the EBM and LightGBM, and scorer latency.

.venv/bin/python benchmarks/bench_models.py [--data german lending_club] [--seeds 0 1 2] [--json]

For each data set (data/germancredit.csv, data/lending_club.csv) every model is cross-validated on
the same stratified 5-fold splits of the same screened rows (lendcore's screening: ids, constants,
post-outcome and pricing columns out), per seed:

* ``scorecard``: ``train_scorecard`` (WOE + logistic, defaults), held-out rows scored by the card;
* ``ebm``: ``train_ebm`` (``EbmConfig`` defaults), held-out rows scored by the plain-Python scorer;
* ``lgbm_default``: LightGBM with its defaults;
* ``lgbm_tuned``: the best of a small grid (leaves × learning rate/trees × min leaf size, with
  subsampling), *chosen on the same held-out folds*: an optimistic figure for LightGBM, so "the
  interpretable model is within 0.01 of it" is a conservative statement.

Then the final artefacts (fitted on all rows) are timed on the request path: one call per
application, cycling over the data set's rows, warm; p50 / p99 in microseconds. The scorecard and
EBM calls build their per-feature contributions; ``ebm_log_odds`` is the EBM without them.
LightGBM is imported here only (dev extra), never by ``src/``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lendcore.risk.ebm_training import EbmConfig, train_ebm
from lendcore.risk.screening import prepare, records
from lendcore.risk.training import TrainingConfig, train_scorecard

DATA = Path(__file__).resolve().parents[1] / "data"
DATASETS = {
    "german": ("germancredit.csv", "creditability", "bad"),
    "lending_club": ("lending_club.csv", "Class", "bad"),
}
GRID = [
    {
        "num_leaves": leaves,
        "learning_rate": lr,
        "n_estimators": trees,
        "min_child_samples": min_leaf,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
    }
    for leaves, (lr, trees), min_leaf in product((4, 8, 16), ((0.02, 500), (0.05, 200)), (20, 50))
]


def lgbm_cv_auc(
    frame: pd.DataFrame, y: np.ndarray, params: Mapping[str, Any], folds: int, seed: int
) -> float:
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    x = frame.copy()
    for col in x.columns:
        if x[col].dtype == object:
            x[col] = x[col].astype("category")
    aucs = []
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        model = lgb.LGBMClassifier(verbose=-1, n_jobs=1, random_state=seed, **params)
        model.fit(x.iloc[train_idx], y[train_idx])
        aucs.append(roc_auc_score(y[test_idx], model.predict_proba(x.iloc[test_idx])[:, 1]))
    return float(np.mean(aucs))


def latency_us(
    call: Callable[[Mapping[str, Any]], object], rows: Sequence[Mapping[str, Any]], n: int
) -> dict[str, float]:
    for row in rows[:1000]:  # warm up
        call(row)
    clock = time.perf_counter_ns
    samples: list[float] = []
    for i in range(n):
        row = rows[i % len(rows)]
        t0 = clock()
        call(row)
        samples.append((clock() - t0) / 1000.0)
    q = statistics.quantiles(samples, n=100)
    return {"p50_us": round(q[49], 1), "p99_us": round(q[98], 1)}


def run(name: str, seeds: Sequence[int], folds: int, calls: int) -> dict[str, Any]:
    file, target, bad = DATASETS[name]
    df = pd.read_csv(DATA / file)
    cv: dict[str, list[float]] = {"scorecard": [], "ebm": [], "lgbm_default": [], "lgbm_tuned": []}
    grid_auc: list[list[float]] = []
    timings: dict[str, float] = {}
    card = ebm = None
    for seed in seeds:
        config = TrainingConfig(folds=folds, seed=seed)
        t0 = time.perf_counter()
        card = train_scorecard(df, target, bad, config=config)
        t1 = time.perf_counter()
        ebm = train_ebm(df, target, bad, config=config, ebm=EbmConfig())
        t2 = time.perf_counter()
        timings = {"scorecard_train_s": round(t1 - t0, 1), "ebm_train_s": round(t2 - t1, 1)}
        cv["scorecard"].append(card.metrics["cv_auc"])
        cv["ebm"].append(ebm.metrics["cv_auc"])
        data = prepare(df, target, bad, config)
        cv["lgbm_default"].append(lgbm_cv_auc(data.frame, data.y, {}, folds, seed))
        grid_auc.append([lgbm_cv_auc(data.frame, data.y, p, folds, seed) for p in GRID])
    # the tuned grid point: best mean over the seeds (one choice for the whole run)
    means = np.mean(np.asarray(grid_auc), axis=0)
    best = int(np.argmax(means))
    cv["lgbm_tuned"] = [g[best] for g in grid_auc]
    assert card is not None and ebm is not None
    rows = records(prepare(df, target, bad, TrainingConfig()).frame)
    auc = {k: round(float(np.mean(v)), 4) for k, v in cv.items()}
    best_interpretable = max(auc["scorecard"], auc["ebm"])
    best_lgbm = max(auc["lgbm_default"], auc["lgbm_tuned"])
    return {
        "data": name,
        "rows": len(df),
        "seeds": list(seeds),
        "folds": folds,
        "cv_auc": auc,
        "cv_auc_per_seed": {k: [round(x, 4) for x in v] for k, v in cv.items()},
        "lgbm_tuned_params": GRID[best],
        "gap_best_interpretable_to_best_lgbm": round(best_lgbm - best_interpretable, 4),
        "target_met": best_lgbm - best_interpretable <= 0.01,
        "latency": {
            "scorecard": latency_us(card.scorecard.score, rows, calls),
            "ebm": latency_us(ebm.model.score, rows, calls),
            "ebm_log_odds": latency_us(ebm.model.log_odds, rows, calls),
        },
        "ebm_terms": len(ebm.model.terms),
        "ebm_artefact_kb": round(len(json.dumps(ebm.artefact, separators=(",", ":"))) / 1024, 1),
        **timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20_000, help="timed scorer calls per artefact")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = [run(name, args.seeds, args.folds, args.calls) for name in args.data]
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for r in results:
        a, lat = r["cv_auc"], r["latency"]
        print(f"{r['data']} ({r['rows']} rows, {r['folds']}-fold CV, seeds {r['seeds']}):")
        for model in ("scorecard", "ebm", "lgbm_default", "lgbm_tuned"):
            print(f"  {model:<13} CV AUC {a[model]:.4f}  per seed {r['cv_auc_per_seed'][model]}")
        print(f"  tuned LightGBM: {r['lgbm_tuned_params']}")
        verdict = "met" if r["target_met"] else "NOT met"
        gap = r["gap_best_interpretable_to_best_lgbm"]
        print(f"  best LightGBM − best interpretable: {gap:+.4f} (target ≤ 0.01 {verdict})")
        for k, v in lat.items():
            print(f"  latency {k:<13} p50 {v['p50_us']} µs  p99 {v['p99_us']} µs")
        print(
            f"  EBM: {r['ebm_terms']} terms, artefact {r['ebm_artefact_kb']} KB; training "
            f"scorecard {r['scorecard_train_s']} s, EBM {r['ebm_train_s']} s"
        )


if __name__ == "__main__":
    main()
