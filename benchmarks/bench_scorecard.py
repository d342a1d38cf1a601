"""Scores per second and p50/p99 latency of a model's ``score`` (warm): by default the shipped
scorecard, or any artefact (``--model``: scorecard.json, ebm.json or a model directory).

.venv/bin/python benchmarks/bench_scorecard.py [--json] [--n 20000] [--model PATH] [--data FILE.csv]

Inputs are the rows of ``--data`` (default: the 1,000 German credit rows, data/germancredit.csv),
read with the standard library (integers and decimals parsed, blanks missing), cycled; each call
scores one application and builds its contributions.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

from lendcore.risk.artefacts import load_model
from lendcore.risk.scorecard import default_scorecard

DATA = Path(__file__).resolve().parents[1] / "data" / "germancredit.csv"


def _value(text: str) -> int | float | str | None:
    if text == "":
        return None
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def load_rows(path: Path = DATA) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [{key: _value(value) for key, value in raw.items()} for raw in csv.DictReader(fh)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="timed calls")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--model", type=Path, help="artefact or model directory (default: shipped)")
    parser.add_argument("--data", type=Path, default=DATA, help="rows to score (CSV)")
    args = parser.parse_args()

    card = load_model(args.model) if args.model else default_scorecard()
    rows = load_rows(args.data)
    for row in rows:  # warm up
        card.score(row)

    latencies: list[float] = []
    clock = time.perf_counter_ns
    for i in range(args.n):
        row = rows[i % len(rows)]
        t0 = clock()
        card.score(row)
        latencies.append((clock() - t0) / 1000.0)

    started = time.process_time()
    count = 0
    while time.process_time() - started < 1.0:
        for row in rows:
            card.score(row)
        count += len(rows)
    per_second = count / (time.process_time() - started)

    q = statistics.quantiles(latencies, n=100)
    result = {
        "model": f"{card.model_id} v{card.version}",
        "features": len(card.features),
        "terms": len(getattr(card, "terms", card.features)),
        "scores_per_second": round(per_second),
        "p50_us": round(q[49], 2),
        "p99_us": round(q[98], 2),
        "calls": args.n,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['model']} ({result['features']} features, {result['terms']} terms): "
            f"{result['scores_per_second']:,} scores/s "
            f"(one core, CPU time); latency p50 {result['p50_us']} µs, p99 {result['p99_us']} µs"
        )


if __name__ == "__main__":
    main()
