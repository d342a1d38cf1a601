"""Specification of `lendcore products` and `lendcore quote` (run in-process)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app

runner = CliRunner()


def quote(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["quote", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_products_lists_the_catalog() -> None:
    result = runner.invoke(app, ["products", "--json"])
    assert result.exit_code == 0
    codes = {p["code"] for p in json.loads(result.stdout)["products"]}
    assert codes == {"quick", "premium", "smallbiz", "pos"}
    table = runner.invoke(app, ["products"])
    assert table.exit_code == 0 and "premium" in table.stdout


def test_quote_json_shape_is_integer_fen_and_decimal_string_apr() -> None:
    doc = quote(
        "--product", "premium", "--amount", "10000", "--term", "6", "--start", "2026-01-15", "--grade", "A"
    )
    assert len(doc["installments"]) == 6
    for row in doc["installments"]:
        assert set(row) >= {
            "period",
            "start_date",
            "due_date",
            "days",
            "principal",
            "interest",
            "fee",
            "total",
            "remaining_principal",
        }
        assert all(
            isinstance(row[k], int)
            for k in ("principal", "interest", "fee", "total", "remaining_principal", "days")
        )
    assert doc["total_principal"] == 1_000_000
    assert doc["total_interest"] == sum(r["interest"] for r in doc["installments"])
    assert isinstance(doc["apr"], str) and len(doc["apr"].split(".")[1]) == 4


def test_quote_from_explicit_terms_reproduces_a_textbook_annuity() -> None:
    doc = quote(
        "--amount",
        "10000",
        "--term",
        "12",
        "--method",
        "equal-installment",
        "--annual-rate",
        "0.12",
        "--interest-rule",
        "period",
        "--start",
        "2026-01-01",
    )
    assert doc["apr"] == "0.1200"
    assert doc["installments"][0]["total"] == 88_849  # pmt(1 %, 12, 10,000) = 888.49


def test_quote_level_payment_thirty_day_reproduces_fineract_rp05() -> None:
    """The README's example: Apache Fineract's RP05 schedule (5000 at 12 %, 6 months, whole units)."""
    doc = quote(
        *("--amount", "5000", "--term", "6", "--method", "equal-installment", "--annual-rate", "12%"),
        *("--day-count", "actual", "--rounding", "half-even", "--installment-multiple", "100"),
        *("--level-payment", "thirty-day", "--start", "2022-11-01"),
    )
    assert doc["level_payment"] == "thirty-day"
    assert [row["total"] for row in doc["installments"]] == [86_200] * 5 + [86_550]
    exact = quote(
        *("--amount", "5000", "--term", "6", "--method", "equal-installment", "--annual-rate", "12%"),
        *("--day-count", "actual", "--installment-multiple", "100", "--start", "2022-11-01"),
    )
    assert exact["level_payment"] == "exact" and exact["installments"][0]["total"] == 86_300


def test_quote_flags_for_day_count_rounding_multiple_first_due_and_flat_fee() -> None:
    doc = quote(
        "--amount",
        "5000",
        "--term",
        "18",
        "--method",
        "equal-installment",
        "--annual-rate",
        "12%",
        "--day-count",
        "365",
        "--installment-multiple",
        "100",
        "--level-payment",
        "nominal",
        "--start",
        "2022-11-01",
        "--rounding",
        "half-even",
    )
    assert doc["installments"][0]["total"] == 30_500
    doc = quote(
        "--amount",
        "1000",
        "--term",
        "3",
        "--method",
        "flat-fee",
        "--daily-rate",
        "0",
        "--fee-rate",
        "0.01",
        "--start",
        "2023-01-01",
        "--first-due",
        "2023-02-10",
    )
    assert doc["total_fee"] == 3_000 and doc["installments"][0]["due_date"] == "2023-02-10"


def test_interest_free_quote_has_apr_zero() -> None:
    doc = quote("--product", "pos", "--amount", "3000", "--term", "6", "--start", "2026-01-01")
    assert doc["total_interest"] == 0 and doc["total_fee"] == 0 and doc["apr"] == "0.0000"


def test_table_output_shows_totals_and_apr() -> None:
    result = runner.invoke(
        app,
        [
            "quote",
            "--product",
            "quick",
            "--amount",
            "5000",
            "--term",
            "3",
            "--method",
            "bullet",
            "--start",
            "2026-01-01",
        ],
    )
    assert result.exit_code == 0
    assert "APR" in result.stdout and "¥5,000.00" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--amount", "10.001", "--term", "3", "--method", "bullet", "--daily-rate", "0.0005"],
        ["--amount", "-5", "--term", "3", "--method", "bullet", "--daily-rate", "0.0005"],
        ["--amount", "100", "--term", "x", "--method", "bullet", "--daily-rate", "0.0005"],
        ["--amount", "100", "--term", "3", "--method", "annuity", "--daily-rate", "0.0005"],
        ["--amount", "100", "--term", "3", "--method", "bullet"],
        [
            "--amount",
            "100",
            "--term",
            "3",
            "--method",
            "bullet",
            "--daily-rate",
            "0.1",
            "--annual-rate",
            "0.1",
        ],
        ["--amount", "100", "--term", "3", "--product", "nope"],
        ["--amount", "100", "--term", "5", "--product", "premium"],
        [
            "--amount",
            "100",
            "--term",
            "3",
            "--method",
            "bullet",
            "--daily-rate",
            "0.0005",
            "--start",
            "2026-13-01",
        ],
        [
            "--amount",
            "100",
            "--term",
            "3",
            "--method",
            "bullet",
            "--daily-rate",
            "0.0005",
            "--day-count",
            "364",
        ],
        [
            "--amount",
            "100",
            "--term",
            "3",
            "--method",
            "bullet",
            "--daily-rate",
            "0.0005",
            "--installment-multiple",
            "100",
        ],
        ["--term", "3"],
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_no_traceback(args: list[str]) -> None:
    result = runner.invoke(app, ["quote", *args])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
