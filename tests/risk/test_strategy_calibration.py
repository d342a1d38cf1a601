"""The shipped champion strategy and the shipped model agree with the data they were built on.

Grading the German credit population (data/germancredit.csv, the development sample of the shipped
scorecard) through the real strategy tables must give grades whose observed bad rate rises strictly
from A to E, and the declined grade must be the riskiest. If a retrained model or an edited table
breaks that ordering, this fails.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from lendcore.risk.scorecard import default_scorecard
from lendcore.risk.strategy import DEFAULT_PRICING, Strategy, StrategyInput

GERMAN = Path(__file__).resolve().parents[2] / "data" / "germancredit.csv"


def test_observed_bad_rate_rises_strictly_from_grade_a_to_grade_e() -> None:
    scorecard = default_scorecard()
    champion = Strategy.packaged("champion")
    applicants: Counter[str] = Counter()
    bads: Counter[str] = Counter()
    declined_bad = declined = 0
    with GERMAN.open(newline="") as handle:
        for row in csv.DictReader(handle):
            scored = scorecard.score(row)
            result = champion.evaluate(
                StrategyInput(
                    score=scored.score,
                    probability_bad=scored.probability_bad,
                    term_months=12,
                    monthly_income=20_000_00,
                    monthly_debt_payments=0,
                    is_new_customer=True,
                    bureau_authorised=False,
                ),
                DEFAULT_PRICING,
            )
            is_bad = row["creditability"] == "bad"
            applicants[result.grade] += 1
            bads[result.grade] += is_bad
            if not result.approved:
                declined += 1
                declined_bad += is_bad

    grades = sorted(applicants)
    assert grades == ["A", "B", "C", "D", "E"], "every grade should be populated on the dev sample"
    bad_rates = [bads[g] / applicants[g] for g in grades]
    assert bad_rates == sorted(bad_rates) and len(set(bad_rates)) == len(bad_rates), bad_rates
    # the declined population is far riskier than the 30 % base rate of the sample
    assert declined_bad / declined > 0.5
