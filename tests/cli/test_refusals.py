"""Every refusal of every command is one line, ``error: <message> [CODE]``, exit 2, and writes nothing.

The table below has a row set for every command and command group of the CLI; the commands are read
from the Typer app, so a new command without rows fails
:func:`test_every_command_has_rows_for_every_kind_of_bad_input`, and so does a command that gains a
required option, a typed option, an amount, an id, a date or an enum option without matching rows.
Each row runs on a database holding a customer, an approved application with its credit line, a
contract, a repayment and a review, on SQLite and PostgreSQL; the row counts of every table are
compared before and after.
"""

from __future__ import annotations

import base64
import json
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import typer
import typer.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, literal, select, union_all
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.security.pii import generate_key
from lendcore.store.engine import create_engine
from lendcore.store.models import Base
from tests.origination.helpers import make_card, make_id, make_phone

runner = CliRunner()
ERROR_LINE = re.compile(r"^error: .+ \[[A-Z_]+\]$")

# Kinds of bad input. Which a command must have rows for is derived from its parameters.
MISSING = "missing required"  # a required option or argument left out
WRONG_TYPE = "wrong type"  # a typed option given text of another type
UNKNOWN_OPTION = "unknown option"
EXTRA_ARGUMENT = "extra argument"
UNKNOWN_COMMAND = "unknown command"  # groups
ZERO, NEGATIVE, HUGE = "zero amount", "negative amount", "huge amount"
UNKNOWN_ID = "unknown id"
BAD_DATE = "bad date"
BAD_ENUM = "bad enum"
OTHER = "command-specific"

#: Options that carry an amount of money (yuan text).
AMOUNT_OPTIONS = {"amount", "limit", "income", "debts", "savings"}
#: Parameters that name a stored row (or the catalog's product).
ID_PARAMS = {
    "customer",
    "customer_id",
    "line",
    "line_id",
    "contract",
    "contract_id",
    "payment",
    "decision_id",
    "review_id",
    "product",
}
DATE_PARAMS = {
    "date_",
    "business_date",
    "start",
    "first_due",
    "value_date",
    "since",
    "until",
    "valid_from",
    "valid_to",
    "on",
}


@dataclass(frozen=True)
class Row:
    kind: str
    args: tuple[str, ...]
    code: str


def r(kind: str, code: str, *args: str) -> Row:
    return Row(kind, args, code)


SEEDED_DAY = "2025-06-16"
_CONSENTS = ("--consent", "terms", "--consent", "privacy", "--consent", "sensitive_personal_info")


def _register_args(id_number: str, *extra: str) -> tuple[str, ...]:
    person = ("--name", "王小明", "--id-number", id_number, "--phone", make_phone(), "--card", make_card())
    return ("customer", "register", *person, *extra)


_APPLY = ("apply", "--customer", "{customer}", "--amount", "3000", "--term", "6", "--income", "10000")
_DRAW = ("draw", "--line", "{line}", "--amount", "100", "--term", "3", "--key", "k-bad")
_QUOTE = ("quote", "--amount", "1000", "--term", "12", "--product", "quick")
_EXPLICIT = ("quote", "--amount", "1000", "--method", "equal-installment")  # terms without a product
_REPAY = ("repay", "--customer", "{customer}", "--key", "k-bad")
_WAIVE = ("waive", "--contract", "{contract}", "--reason", "r", "--actor", "a", "--key", "k-bad")
_WRITE_OFF = ("write-off", "--contract", "{contract}", "--reason", "r", "--actor", "a", "--key", "k-bad")
_REVERSE = ("payment", "reverse", "{payment}", "--reason", "R01", "--actor", "ops1", "--key", "k-bad")
_LINE_OPEN = ("line", "open", "--customer", "{customer}", "--product", "premium", "--limit", "5000")
_PROPOSE = ("review", "propose", "{review}", "--staff", "maker", "--limit", "5000")
_RESOLVE = ("review", "resolve", "{review}", "--staff", "checker", "--action", "confirm")
_CREATE_USER = ("admin", "create-user", "--username", "ops.li", "--role", "viewer")
_CONTACT = ("collection", "contact", "--customer", "{customer}", "--channel", "call", "--agent", "a1")
_PARTNER = ("partners", "register", "--name", "Bank A", "--limit", "100000", "--staff", "seeded.admin")
_PRIVACY_EXPORT = (
    "privacy",
    "export",
    "--customer",
    "{customer}",
    "--out",
    "{csv}.json",
    "--staff",
    "seeded.admin",
)
_PRIVACY_DELETE = ("privacy", "delete", "--customer", "{customer}", "--staff", "seeded.admin")
_CONTACT = (*_CONTACT, "--at", "2026-03-02T10:00:00+08:00")
_APPROVALS_PROPOSE = (
    "approvals",
    "propose",
    "line-freeze",
    "{line}",
    "--staff",
    "seeded.admin",
    "--reason",
    "r",
)
_APPROVE = ("approvals", "approve", "{proposal}", "--staff", "seeded.admin")
_REJECT = ("approvals", "reject", "{proposal}", "--staff", "seeded.admin", "--reason", "r")
#: The official account the seed registers (valid from the seeded day, open-ended).
SEEDED_ACCOUNT = "6222 0200 0000 1234"
_ACCOUNT = ("--bank", "ICBC", "--holder", "Lendcore Ltd", "--purpose", "repayments", "--actor", "ops1")
_ACCOUNTS_ADD = ("accounts", "add", "6222020000005678", *_ACCOUNT)
_SCHEDULE = (
    *("repay-schedule", "book", "--customer", "{customer}", "--contract", "{contract}"),
    *("--take-on", "2025-07-10"),
)
_MANDATE = ("autopay", "mandate", "--customer", "{customer}", "--card", "card_nope", "--actor", "ops1")
_HS_OFFER = ("hardship", "offer", "--contract", "{contract}", "--kind", "extension", "--periods", "1")
_HS_OFFER = (*_HS_OFFER, "--staff", "seeded.admin", "--reason", "r")
_HUGE = "99999999999999999999"
_BIGINT_OVERFLOW = "92233720368547758.07"

ROWS: dict[tuple[str, ...], list[Row]] = {
    (): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "--bogus"),
    ],
    ("accounts",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "accounts", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "accounts", "--bogus"),
    ],
    ("accounts", "add"): [
        r(MISSING, "MISSING_ARGUMENT", "accounts", "add", *_ACCOUNT),
        r(MISSING, "MISSING_OPTION", *_ACCOUNTS_ADD[:-2]),
        r(MISSING, "MISSING_OPTION", *_ACCOUNTS_ADD[:3], *_ACCOUNTS_ADD[5:]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_ACCOUNTS_ADD, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_ACCOUNTS_ADD, "extra"),
        r(BAD_DATE, "INVALID_DATE", *_ACCOUNTS_ADD, "--valid-from", "2026-02-30"),
        r(BAD_DATE, "INVALID_DATE", *_ACCOUNTS_ADD, "--valid-to", "soon"),
        r(
            OTHER,
            "ACCOUNT_VALIDITY_INVALID",
            *_ACCOUNTS_ADD,
            "--valid-from",
            "2026-02-02",
            "--valid-to",
            "2026-02-01",
        ),
        r(OTHER, "INVALID_ACCOUNT_NUMBER", "accounts", "add", "6222-O200-0000-1234", *_ACCOUNT),
        r(OTHER, "INVALID_ACCOUNT_NUMBER", "accounts", "add", "12345678", *_ACCOUNT),
        r(OTHER, "INVALID_ACCOUNT_NUMBER", "accounts", "add", "1" * 31, *_ACCOUNT),
        r(OTHER, "ACCOUNT_DETAILS_INVALID", *_ACCOUNTS_ADD[:4], " ", *_ACCOUNTS_ADD[5:]),
        r(OTHER, "ACCOUNT_DETAILS_INVALID", *_ACCOUNTS_ADD[:8], "x" * 201, *_ACCOUNTS_ADD[9:]),
        r(OTHER, "ACCOUNT_ALREADY_REGISTERED", "accounts", "add", "6222-0200-0000-1234", *_ACCOUNT),
        r(
            OTHER,
            "ACCOUNT_ALREADY_REGISTERED",
            "accounts",
            "add",
            SEEDED_ACCOUNT,
            *_ACCOUNT,
            "--valid-from",
            "2020-01-01",
            "--valid-to",
            SEEDED_DAY,
        ),
    ],
    ("accounts", "check"): [
        r(MISSING, "MISSING_ARGUMENT", "accounts", "check"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "accounts", "check", SEEDED_ACCOUNT, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "accounts", "check", "6222", "0200", "0000", "1234"),
        r(BAD_DATE, "INVALID_DATE", "accounts", "check", SEEDED_ACCOUNT, "--on", "2025-06-31"),
        r(OTHER, "INVALID_ACCOUNT_NUMBER", "accounts", "check", "not a number"),
        r(OTHER, "INVALID_ACCOUNT_NUMBER", "accounts", "check", "--", "-"),
    ],
    ("autopay",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "autopay", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "autopay", "--bogus"),
    ],
    ("autopay", "mandate"): [
        r(MISSING, "MISSING_OPTION", *_MANDATE[:-2]),
        r(MISSING, "MISSING_OPTION", "autopay", "mandate", "--customer", "{customer}", "--actor", "ops1"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_MANDATE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_MANDATE, "extra"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_MANDATE, "--role", "backup"),
        r(UNKNOWN_ID, "CUSTOMER_NOT_FOUND", "autopay", "mandate", "--customer", "cus_nope", *_MANDATE[4:]),
        r(OTHER, "CARD_NOT_FOUND", *_MANDATE),
    ],
    ("autopay", "revoke"): [
        r(MISSING, "MISSING_OPTION", "autopay", "revoke", "mdt_nope"),
        r(MISSING, "MISSING_ARGUMENT", "autopay", "revoke", "--actor", "ops1"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "autopay", "revoke", "mdt_nope", "--actor", "ops1", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "autopay", "revoke", "mdt_nope", "--actor", "ops1", "extra"),
        r(OTHER, "MANDATE_NOT_FOUND", "autopay", "revoke", "mdt_nope", "--actor", "ops1"),
    ],
    ("autopay", "run"): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "autopay", "run", "--attempt", "first"),
        r(BAD_DATE, "INVALID_DATE", "autopay", "run", "--date", "2026-02-30"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "autopay", "run", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "autopay", "run", "extra"),
        r(OTHER, "INVALID_AUTOPAY_ATTEMPT", "autopay", "run", "--attempt", "3"),
        r(OTHER, "INVALID_AUTOPAY_ATTEMPT", "autopay", "run", "--attempt", "0"),
    ],
    ("admin",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "admin", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "admin", "--bogus"),
    ],
    ("admin", "create-user"): [
        r(MISSING, "MISSING_OPTION", "admin", "create-user", "--username", "ops.li"),
        r(MISSING, "MISSING_OPTION", "admin", "create-user", "--role", "viewer"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_CREATE_USER, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_CREATE_USER, "extra"),
        r(BAD_ENUM, "INVALID_ARGUMENT", "admin", "create-user", "--username", "ops.li", "--role", "boss"),
        r(OTHER, "INVALID_USERNAME", "admin", "create-user", "--username", "a b", "--role", "viewer"),
        r(OTHER, "INVALID_USERNAME", "admin", "create-user", "--username", "", "--role", "viewer"),
        r(OTHER, "PASSWORD_TOO_SHORT", *_CREATE_USER, "--password-stdin"),
        r(OTHER, "USERNAME_TAKEN", "admin", "create-user", "--username", "Seeded.Admin", "--role", "viewer"),
        r(OTHER, "OPTION_NEEDS_VALUE", "admin", "create-user", "--username", "ops.li", "--role"),
    ],
    ("approvals",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "approvals", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "approvals", "--bogus"),
    ],
    ("approvals", "propose"): [
        r(MISSING, "MISSING_OPTION", *_APPROVALS_PROPOSE[:-2]),
        r(MISSING, "MISSING_ARGUMENT", "approvals", "propose", "line-freeze"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_APPROVALS_PROPOSE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_APPROVALS_PROPOSE, "extra"),
        r(OTHER, "UNKNOWN_PROPOSAL_KIND", "approvals", "propose", "gift", *_APPROVALS_PROPOSE[3:]),
        r(OTHER, "INVALID_PROPOSAL_PAYLOAD", *_APPROVALS_PROPOSE, "--payload", "[1]"),
        r(OTHER, "INVALID_PROPOSAL_PAYLOAD", *_APPROVALS_PROPOSE, "--payload", "not json"),
        r(OTHER, "STAFF_USER_NOT_FOUND", *_APPROVALS_PROPOSE[:5], "nobody", *_APPROVALS_PROPOSE[6:]),
        r(OTHER, "LINE_NOT_FOUND", "approvals", "propose", "line-freeze", "cl_nope", *_APPROVALS_PROPOSE[4:]),
        r(OTHER, "REASON_REQUIRED", *_APPROVALS_PROPOSE[:-1], " "),
    ],
    ("approvals", "approve"): [
        r(MISSING, "MISSING_OPTION", *_APPROVE[:-2]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_APPROVE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_APPROVE, "extra"),
        r(OTHER, "PROPOSAL_NOT_FOUND", "approvals", "approve", "apv_nope", *_APPROVE[3:]),
        r(OTHER, "SELF_APPROVAL", *_APPROVE),
        r(OTHER, "STAFF_USER_NOT_FOUND", *_APPROVE[:-1], "nobody"),
    ],
    ("approvals", "reject"): [
        r(MISSING, "MISSING_OPTION", *_REJECT[:-2]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_REJECT, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_REJECT, "extra"),
        r(OTHER, "PROPOSAL_NOT_FOUND", "approvals", "reject", "apv_nope", *_REJECT[3:]),
        r(OTHER, "REASON_REQUIRED", *_REJECT[:-1], " "),
    ],
    ("approvals", "list"): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "approvals", "list", "--count", "many"),
        r(BAD_ENUM, "INVALID_ARGUMENT", "approvals", "list", "--status", "pending"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "approvals", "list", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "approvals", "list", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "approvals", "list", "--count", "0"),
    ],
    ("apply",): [
        r(MISSING, "MISSING_OPTION", *_APPLY[:-2]),
        r(WRONG_TYPE, "INVALID_ARGUMENT", *_APPLY[:-3], "abc", "--income", "10000"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", *_APPLY, "--employment-years", "five"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_APPLY, "--colour", "blue"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_APPLY, "extra"),
        r(ZERO, "INVALID_REQUESTED_AMOUNT", *_APPLY[:4], "0", *_APPLY[5:]),
        r(NEGATIVE, "INVALID_REQUESTED_AMOUNT", *_APPLY[:4], "-5", *_APPLY[5:]),
        r(HUGE, "INVALID_REQUESTED_AMOUNT", *_APPLY[:4], _HUGE, *_APPLY[5:]),
        r(HUGE, "INVALID_MONTHLY_INCOME", *_APPLY[:-1], _HUGE),
        r(NEGATIVE, "INVALID_MONTHLY_INCOME", *_APPLY[:-1], "-1"),
        r(OTHER, "INVALID_SAVINGS", *_APPLY, "--savings", "1e5"),
        r(HUGE, "INVALID_SAVINGS", *_APPLY, "--savings", "100000001"),
        r(NEGATIVE, "INVALID_MONTHLY_DEBT_PAYMENTS", *_APPLY, "--debts", "-3"),
        r(OTHER, "INVALID_EMPLOYMENT_YEARS", *_APPLY, "--employment-years", "-5"),
        r(OTHER, "INVALID_EMPLOYMENT_YEARS", *_APPLY, "--employment-years", _HUGE),
        r(OTHER, "INVALID_DEPENDENTS", *_APPLY, "--dependents", "99"),
        r(OTHER, "INVALID_YEARS_AT_ADDRESS", *_APPLY, "--years-at-address", "-1"),
        r(OTHER, "INVALID_TERM_MONTHS", *_APPLY[:-3], "0", "--income", "10000"),
        r(OTHER, "TERM_NOT_ALLOWED", *_APPLY[:-3], "24", "--income", "10000"),
        r(OTHER, "AMOUNT_OUT_OF_RANGE", *_APPLY[:4], "60000", *_APPLY[5:]),
        r(OTHER, "INVALID_FORM", *_APPLY, "--housing", "castle", "--dependents", "99"),
        r(BAD_ENUM, "INVALID_HOUSING", *_APPLY, "--housing", "castle"),
        r(BAD_ENUM, "INVALID_PURPOSE", *_APPLY, "--purpose", "yacht"),
        r(BAD_ENUM, "INVALID_ACCOUNT_STANDING", *_APPLY, "--account-standing", "rich"),
        r(BAD_ENUM, "INVALID_MARITAL_STATUS", *_APPLY, "--marital-status", "complicated"),
        r(UNKNOWN_ID, "CUSTOMER_NOT_FOUND", "apply", "--customer", "cus_nope", *_APPLY[3:]),
        r(UNKNOWN_ID, "UNKNOWN_PRODUCT", *_APPLY, "--product", "nope"),
        r(BAD_DATE, "INVALID_DATE", *_APPLY, "--date", "2025-13-01"),
        r(OTHER, "LINE_ALREADY_OPEN", *_APPLY, "--date", SEEDED_DAY, "--key", "k-again"),
    ],
    ("notify-sim",): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "notify-sim", "--port", "eighty"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", "notify-sim", "--failed", "often"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "notify-sim", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "notify-sim", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "notify-sim", "--port", "0"),
        r(OTHER, "NOTIFY_SIM_INVALID", "notify-sim", "--failed", "2"),
        r(OTHER, "NOTIFY_SIM_INVALID", "notify-sim", "--failed", "0.6", "--unconfirmed", "0.6"),
        r(OTHER, "INVALID_ARGUMENT", "notify-sim", "--receipt-after", "-1"),
    ],
    ("channel-sim",): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "channel-sim", "--port", "eighty"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", "channel-sim", "--seed", "lucky"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "channel-sim", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "channel-sim", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "channel-sim", "--port", "0"),
        r(OTHER, "INVALID_ARGUMENT", "channel-sim", "--port", "70000"),
        r(OTHER, "INVALID_ARGUMENT", "channel-sim", "--seed", "-1"),
        r(OTHER, "FAULT_SPEC_INVALID", "channel-sim", "--faults", "bogus=1"),
        r(OTHER, "FAULT_SPEC_INVALID", "channel-sim", "--faults", "lost_callback=2"),
        r(OTHER, "FAULT_SPEC_INVALID", "channel-sim", "--faults", "outage=20-10"),
        r(OTHER, "CALLBACK_URL_INVALID", "channel-sim", "--callback-url", "ftp://x"),
        r(OTHER, "INVALID_SECRET", "channel-sim", "--secret", ""),
        r(OTHER, "OPTION_NEEDS_VALUE", "channel-sim", "--faults"),
    ],
    ("jobs",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "jobs", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "jobs", "--bogus"),
    ],
    ("jobs", "list"): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "jobs", "list", "--limit", "many"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "jobs", "list", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "jobs", "list", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "jobs", "list", "--limit", "0"),
        r(OTHER, "INVALID_ARGUMENT", "jobs", "list", "--limit", _HUGE),
        r(OTHER, "OPTION_TAKES_NO_VALUE", "jobs", "list", "--dead=yes"),
    ],
    ("bureau",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "bureau", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "bureau", "--bogus"),
    ],
    ("bureau", "batch"): [
        r(MISSING, "MISSING_OPTION", "bureau", "batch", "--out", "batch.xml"),
        r(MISSING, "MISSING_OPTION", "bureau", "batch", "--date", "2025-06-17"),
        r(BAD_DATE, "INVALID_DATE", "bureau", "batch", "--date", "2025-13-01", "--out", "batch.xml"),
        r(
            UNKNOWN_OPTION,
            "UNKNOWN_OPTION",
            "bureau",
            "batch",
            "--date",
            "2025-06-17",
            "--out",
            "b.xml",
            "--bogus",
        ),
        r(
            EXTRA_ARGUMENT,
            "UNEXPECTED_ARGUMENT",
            "bureau",
            "batch",
            "--date",
            "2025-06-17",
            "--out",
            "b.xml",
            "x",
        ),
        r(
            OTHER,
            "OPTION_TAKES_NO_VALUE",
            "bureau",
            "batch",
            "--date",
            "2025-06-17",
            "--out",
            "b.xml",
            "--store=1",
        ),
    ],
    ("hardship",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "hardship", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "hardship", "--bogus"),
    ],
    ("hardship", "offer"): [
        r(MISSING, "MISSING_OPTION", *_HS_OFFER[:2], *_HS_OFFER[4:]),
        r(MISSING, "MISSING_OPTION", *_HS_OFFER[:6], *_HS_OFFER[8:]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_HS_OFFER, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_HS_OFFER, "extra"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_HS_OFFER, "--kind", "moratorium"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", *_HS_OFFER, "--periods", "two"),
        r(UNKNOWN_ID, "CONTRACT_NOT_FOUND", *_HS_OFFER[:3], "ln_nope", *_HS_OFFER[4:]),
        r(BAD_DATE, "INVALID_DATE", *_HS_OFFER, "--date", "2025-13-01"),
        r(OTHER, "INVALID_RESTRUCTURE_PERIODS", *_HS_OFFER, "--periods", "0"),
        r(OTHER, "RESTRUCTURE_PERIODS_EXCEEDED", *_HS_OFFER, "--periods", "4"),  # quick: at most 3
        r(OTHER, "STAFF_USER_NOT_FOUND", *_HS_OFFER, "--staff", "nobody"),
        r(OTHER, "REASON_REQUIRED", *_HS_OFFER, "--reason", " "),
    ],
    ("hardship", "show"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "hardship", "show", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "hardship", "show", "--contract", "{contract}", "extra"),
        r(UNKNOWN_ID, "HARDSHIP_OFFER_NOT_FOUND", "hardship", "show", "--offer", "hso_nope"),
        r(UNKNOWN_ID, "CONTRACT_NOT_FOUND", "hardship", "show", "--contract", "ln_nope"),
        r(UNKNOWN_ID, "CUSTOMER_NOT_FOUND", "hardship", "show", "--customer", "cus_nope"),
        r(OTHER, "INVALID_ARGUMENT", "hardship", "show"),
        r(
            OTHER,
            "INVALID_ARGUMENT",
            "hardship",
            "show",
            "--contract",
            "{contract}",
            "--customer",
            "{customer}",
        ),
    ],
    ("hardship", "accept"): [
        r(MISSING, "MISSING_ARGUMENT", "hardship", "accept", "--customer", "{customer}"),
        r(MISSING, "MISSING_OPTION", "hardship", "accept", "hso_nope"),
        r(
            UNKNOWN_OPTION,
            "UNKNOWN_OPTION",
            "hardship",
            "accept",
            "hso_nope",
            "--customer",
            "{customer}",
            "--bogus",
        ),
        r(
            EXTRA_ARGUMENT,
            "UNEXPECTED_ARGUMENT",
            "hardship",
            "accept",
            "hso_a",
            "hso_b",
            "--customer",
            "{customer}",
        ),
        r(
            UNKNOWN_ID,
            "HARDSHIP_OFFER_NOT_FOUND",
            "hardship",
            "accept",
            "hso_nope",
            "--customer",
            "{customer}",
        ),
        r(UNKNOWN_ID, "HARDSHIP_OFFER_NOT_FOUND", "hardship", "accept", "hso_nope", "--customer", "cus_nope"),
        r(
            BAD_DATE,
            "INVALID_DATE",
            "hardship",
            "accept",
            "hso_nope",
            "--customer",
            "{customer}",
            "--date",
            "2025-13-01",
        ),
        r(
            OTHER,
            "BUSINESS_DATE_MISMATCH",
            "hardship",
            "accept",
            "hso_nope",
            "--customer",
            "{customer}",
            "--date",
            "2025-06-15",
        ),
    ],
    ("hardship", "decline"): [
        r(MISSING, "MISSING_ARGUMENT", "hardship", "decline", "--customer", "{customer}"),
        r(MISSING, "MISSING_OPTION", "hardship", "decline", "hso_nope"),
        r(
            UNKNOWN_OPTION,
            "UNKNOWN_OPTION",
            "hardship",
            "decline",
            "hso_nope",
            "--customer",
            "{customer}",
            "--bogus",
        ),
        r(
            EXTRA_ARGUMENT,
            "UNEXPECTED_ARGUMENT",
            "hardship",
            "decline",
            "hso_a",
            "hso_b",
            "--customer",
            "{customer}",
        ),
        r(
            UNKNOWN_ID,
            "HARDSHIP_OFFER_NOT_FOUND",
            "hardship",
            "decline",
            "hso_nope",
            "--customer",
            "{customer}",
        ),
        r(
            UNKNOWN_ID,
            "HARDSHIP_OFFER_NOT_FOUND",
            "hardship",
            "decline",
            "hso_nope",
            "--customer",
            "cus_nope",
        ),
        r(
            BAD_DATE,
            "INVALID_DATE",
            "hardship",
            "decline",
            "hso_nope",
            "--customer",
            "{customer}",
            "--date",
            "2025-13-01",
        ),
        r(
            OTHER,
            "BUSINESS_DATE_MISMATCH",
            "hardship",
            "decline",
            "hso_nope",
            "--customer",
            "{customer}",
            "--date",
            "2025-06-15",
        ),
    ],
    ("reports",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "reports", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "reports", "--bogus"),
    ],
    ("reports", "vintage"): [
        r(MISSING, "MISSING_OPTION", "reports", "vintage"),
        r(MISSING, "MISSING_OPTION", "reports", "vintage", "--as-of", "2025-06-16"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "reports", "vintage", "--out", "r.csv", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "reports", "vintage", "--out", "r.csv", "extra"),
        r(BAD_DATE, "INVALID_DATE", "reports", "vintage", "--out", "r.csv", "--as-of", "2025-13-01"),
        r(
            OTHER,
            "AS_OF_AFTER_BUSINESS_DATE",
            "reports",
            "vintage",
            "--out",
            "r.csv",
            "--as-of",
            "2025-06-17",
        ),
        r(OTHER, "OUTPUT_NOT_WRITABLE", "reports", "vintage", "--out", "no/such/dir/r.csv"),
    ],
    ("reports", "roll-rates"): [
        r(MISSING, "MISSING_OPTION", "reports", "roll-rates"),
        r(MISSING, "MISSING_OPTION", "reports", "roll-rates", "--as-of", "2025-06-16"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "reports", "roll-rates", "--out", "r.csv", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "reports", "roll-rates", "--out", "r.csv", "extra"),
        r(BAD_DATE, "INVALID_DATE", "reports", "roll-rates", "--out", "r.csv", "--as-of", "2025-13-01"),
        r(
            OTHER,
            "AS_OF_AFTER_BUSINESS_DATE",
            "reports",
            "roll-rates",
            "--out",
            "r.csv",
            "--as-of",
            "2025-06-17",
        ),
        r(OTHER, "OUTPUT_NOT_WRITABLE", "reports", "roll-rates", "--out", "no/such/dir/r.csv"),
    ],
    ("reports", "month-end"): [
        r(MISSING, "MISSING_OPTION", "reports", "month-end"),
        r(MISSING, "MISSING_OPTION", "reports", "month-end", "--as-of", "2025-06-16"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "reports", "month-end", "--out", "r.csv", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "reports", "month-end", "--out", "r.csv", "extra"),
        r(BAD_DATE, "INVALID_DATE", "reports", "month-end", "--out", "r.csv", "--as-of", "2025-13-01"),
        r(
            OTHER,
            "AS_OF_AFTER_BUSINESS_DATE",
            "reports",
            "month-end",
            "--out",
            "r.csv",
            "--as-of",
            "2025-06-17",
        ),
        r(OTHER, "OUTPUT_NOT_WRITABLE", "reports", "month-end", "--out", "no/such/dir/r.csv"),
    ],
    ("collection",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "collection", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "collection", "--bogus"),
    ],
    ("collection", "contact"): [
        r(MISSING, "MISSING_OPTION", *_CONTACT[:6]),
        r(MISSING, "MISSING_OPTION", "collection", "contact", *_CONTACT[4:]),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_CONTACT[:5], "fax", *_CONTACT[6:]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_CONTACT, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_CONTACT, "extra"),
        r(UNKNOWN_ID, "CUSTOMER_NOT_FOUND", *_CONTACT[:3], "cus_nope", *_CONTACT[4:]),
        r(UNKNOWN_ID, "CONTRACT_NOT_FOUND", *_CONTACT, "--contract", "ln_nope"),
        r(OTHER, "INVALID_DATE", *_CONTACT[:-1], "yesterday"),
        r(OTHER, "ACTOR_REQUIRED", *_CONTACT[:7], " ", *_CONTACT[8:]),
        r(OTHER, "OPTION_TAKES_NO_VALUE", *_CONTACT, "--third-party=yes"),
    ],
    ("collection", "queue"): [
        r(BAD_DATE, "INVALID_DATE", "collection", "queue", "--date", "2026-13-01"),
        r(BAD_ENUM, "INVALID_ARGUMENT", "collection", "queue", "--bucket", "M9"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "collection", "queue", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "collection", "queue", "extra"),
    ],
    ("partners",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "partners", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "partners", "--bogus"),
    ],
    ("partners", "register"): [
        r(MISSING, "MISSING_OPTION", *_PARTNER[:4]),
        r(ZERO, "ZERO_AMOUNT", *_PARTNER[:4], "--limit", "0", *_PARTNER[6:]),
        r(NEGATIVE, "NEGATIVE_AMOUNT", *_PARTNER[:4], "--limit", "-1", *_PARTNER[6:]),
        r(HUGE, "AMOUNT_TOO_LARGE", *_PARTNER[:4], "--limit", _HUGE, *_PARTNER[6:]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_PARTNER, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_PARTNER, "extra"),
        r(OTHER, "STAFF_USER_NOT_FOUND", *_PARTNER[:6], "--staff", "nobody"),
        r(OTHER, "INVALID_PARTNER_NAME", "partners", "register", "--name", " ", *_PARTNER[4:]),
    ],
    ("partners", "statement"): [
        r(MISSING, "MISSING_OPTION", "partners", "statement", "--partner", "fp_nope"),
        r(BAD_DATE, "INVALID_DATE", "partners", "statement", "--partner", "fp_nope", "--date", "2025-13-01"),
        r(
            UNKNOWN_OPTION,
            "UNKNOWN_OPTION",
            "partners",
            "statement",
            "--partner",
            "p",
            "--date",
            SEEDED_DAY,
            "--bogus",
        ),
        r(
            EXTRA_ARGUMENT,
            "UNEXPECTED_ARGUMENT",
            "partners",
            "statement",
            "--partner",
            "p",
            "--date",
            SEEDED_DAY,
            "x",
        ),
        r(OTHER, "PARTNER_NOT_FOUND", "partners", "statement", "--partner", "fp_nope", "--date", SEEDED_DAY),
        r(
            OTHER,
            "BUSINESS_DATE_IN_FUTURE",
            "partners",
            "statement",
            "--partner",
            "fp_x",
            "--date",
            "2999-01-01",
        ),
    ],
    ("partners", "sync"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "partners", "sync", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "partners", "sync", "extra"),
    ],
    ("privacy",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "privacy", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "privacy", "--bogus"),
    ],
    ("privacy", "export"): [
        r(MISSING, "MISSING_OPTION", *_PRIVACY_EXPORT[:6]),
        r(
            UNKNOWN_ID,
            "CUSTOMER_NOT_FOUND",
            *_PRIVACY_EXPORT[:2],
            "--customer",
            "cus_nope",
            *_PRIVACY_EXPORT[4:],
        ),
        r(BAD_DATE, "INVALID_DATE", *_PRIVACY_EXPORT, "--date", "2025-13-01"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_PRIVACY_EXPORT, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_PRIVACY_EXPORT, "extra"),
        r(OTHER, "STAFF_USER_NOT_FOUND", *_PRIVACY_EXPORT[:6], "--staff", "nobody"),
    ],
    ("privacy", "delete"): [
        r(MISSING, "MISSING_OPTION", *_PRIVACY_DELETE[:4]),
        r(
            UNKNOWN_ID,
            "CUSTOMER_NOT_FOUND",
            "privacy",
            "delete",
            "--customer",
            "cus_nope",
            *_PRIVACY_DELETE[4:],
        ),
        r(BAD_DATE, "INVALID_DATE", *_PRIVACY_DELETE, "--date", "2025-13-01"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_PRIVACY_DELETE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_PRIVACY_DELETE, "extra"),
        r(OTHER, "ERASURE_BLOCKED_OPEN_CONTRACTS", *_PRIVACY_DELETE),  # the seeded contract is open
    ],
    ("privacy", "retention"): [
        r(MISSING, "MISSING_OPTION", "privacy", "retention"),
        r(BAD_DATE, "INVALID_DATE", "privacy", "retention", "--date", "2025-02-30"),
        r(
            WRONG_TYPE,
            "INVALID_ARGUMENT",
            "privacy",
            "retention",
            "--date",
            SEEDED_DAY,
            "--identity-years",
            "ten",
        ),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "privacy", "retention", "--date", SEEDED_DAY, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "privacy", "retention", "--date", SEEDED_DAY, "extra"),
        r(OTHER, "INVALID_ARGUMENT", "privacy", "retention", "--date", SEEDED_DAY, "--identity-years", "101"),
        r(OTHER, "BUSINESS_DATE_IN_FUTURE", "privacy", "retention", "--date", "2999-01-01"),
    ],
    ("jobs", "retry"): [
        r(MISSING, "MISSING_ARGUMENT", "jobs", "retry"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", "jobs", "retry", "job-1"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "jobs", "retry", "1", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "jobs", "retry", "1", "2"),
        r(OTHER, "INVALID_ARGUMENT", "jobs", "retry", "0"),
        r(OTHER, "JOB_NOT_FOUND", "jobs", "retry", "999999"),
    ],
    ("customer",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "customer", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "customer", "--bogus"),
    ],
    ("customer", "register"): [
        r(MISSING, "MISSING_OPTION", "customer", "register", "--name", "王小明", "--id-number", make_id()),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_register_args(make_id(), *_CONSENTS, "--colour", "x")),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_register_args(make_id(), *_CONSENTS, "extra")),
        r(OTHER, "SENSITIVE_CONSENT_REQUIRED", *_register_args(make_id(), "--consent", "terms")),
        r(OTHER, "SENSITIVE_CONSENT_REQUIRED", *_register_args("12345")),
        r(BAD_ENUM, "INVALID_CONSENT_KIND", *_register_args(make_id(), *_CONSENTS, "--consent", "marketing")),
        r(OTHER, "CONSENT_VERSION_UNKNOWN", *_register_args(make_id(), *_CONSENTS, "--consent", "terms:9.9")),
        r(OTHER, "ONBOARDING_INVALID", *_register_args("12345", *_CONSENTS)),
        r(OTHER, "DUPLICATE_ID_NUMBER", *_register_args("{id_number}", *_CONSENTS)),
        r(BAD_DATE, "INVALID_DATE", *_register_args(make_id(), *_CONSENTS, "--date", "06/16/2025")),
    ],
    ("customer", "show"): [
        r(MISSING, "MISSING_ARGUMENT", "customer", "show"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "customer", "show", "{customer}", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "customer", "show", "{customer}", "extra"),
        r(UNKNOWN_ID, "CUSTOMER_NOT_FOUND", "customer", "show", "cus_nope"),
    ],
    ("db",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "db", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "db", "--bogus"),
    ],
    ("db", "upgrade"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "db", "upgrade", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "db", "upgrade", "extra"),
        r(OTHER, "UNKNOWN_REVISION", "db", "upgrade", "--revision", "bogus"),
        r(OTHER, "INVALID_REVISION", "db", "upgrade", "--revision", ""),
        r(OTHER, "OPTION_NEEDS_VALUE", "db", "upgrade", "--revision"),
    ],
    ("db", "url"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "db", "url", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "db", "url", "extra"),
    ],
    ("decision",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "decision", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "decision", "--bogus"),
    ],
    ("decision", "explain"): [
        r(MISSING, "MISSING_ARGUMENT", "decision", "explain"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "decision", "explain", "{decision}", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "decision", "explain", "{decision}", "extra"),
        r(UNKNOWN_ID, "DECISION_NOT_FOUND", "decision", "explain", "dec_nope"),
    ],
    ("decision", "replay"): [
        r(MISSING, "MISSING_ARGUMENT", "decision", "replay"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "decision", "replay", "{decision}", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "decision", "replay", "{decision}", "extra"),
        r(UNKNOWN_ID, "DECISION_NOT_FOUND", "decision", "replay", "dec_nope"),
    ],
    ("demo",): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "demo", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "demo", "extra"),
        r(OTHER, "INVALID_DATABASE_URL", "demo", "--database", "bogus://x"),
        r(OTHER, "INVALID_DATABASE_URL", "demo", "--database", "postgresql://u@127.0.0.1:notaport/x"),
        r(OTHER, "DATABASE_DIRECTORY_MISSING", "demo", "--database", "sqlite:////no/such/directory/demo.db"),
        r(OTHER, "OPTION_NEEDS_VALUE", "demo", "--database"),
    ],
    ("draw",): [
        r(OTHER, "FUNDING_SHARES_INVALID", *_DRAW, "--fund", "nonsense", "--yes"),
        r(OTHER, "PARTNER_NOT_FOUND", *_DRAW, "--fund", "fp_nope:1000", "--yes"),
        r(MISSING, "MISSING_OPTION", *_DRAW[:5]),
        r(WRONG_TYPE, "INVALID_ARGUMENT", *_DRAW[:6], "abc"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_DRAW, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_DRAW, "extra"),
        r(ZERO, "ZERO_AMOUNT", *_DRAW[:4], "0", *_DRAW[5:], "--yes"),
        r(NEGATIVE, "NEGATIVE_AMOUNT", *_DRAW[:4], "-5", *_DRAW[5:], "--yes"),
        r(HUGE, "AMOUNT_TOO_LARGE", *_DRAW[:4], _HUGE, *_DRAW[5:], "--yes"),
        r(HUGE, "AMOUNT_TOO_LARGE", *_DRAW[:4], _BIGINT_OVERFLOW, *_DRAW[5:], "--yes"),
        r(OTHER, "AMOUNT_OUT_OF_RANGE", *_DRAW[:4], "60000", *_DRAW[5:], "--yes"),
        r(OTHER, "INVALID_ARGUMENT", *_DRAW[:6], "0", "--yes"),
        r(OTHER, "INVALID_ARGUMENT", *_DRAW[:6], _HUGE, "--yes"),
        r(OTHER, "TERM_NOT_ALLOWED", *_DRAW[:6], "24", "--yes"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_DRAW, "--method", "xyz", "--yes"),
        r(OTHER, "METHOD_NOT_ALLOWED", *_DRAW, "--method", "flat-fee", "--yes"),
        r(UNKNOWN_ID, "LINE_NOT_FOUND", "draw", "--line", "cl_nope", *_DRAW[3:], "--yes"),
        r(BAD_DATE, "INVALID_DATE", *_DRAW, "--date", "2025-02-30", "--yes"),
    ],
    ("eod",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "eod", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "eod", "--bogus"),
    ],
    ("eod", "run"): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "eod", "run", "--chunk-size", "abc"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "eod", "run", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "eod", "run", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "eod", "run", "--chunk-size", _HUGE, "--date", SEEDED_DAY),
        r(OTHER, "INVALID_ARGUMENT", "eod", "run", "--chunk-size", "0", "--date", SEEDED_DAY),
        r(OTHER, "INVALID_ARGUMENT", "eod", "run", "--engine", "bogus", "--date", SEEDED_DAY),
        r(OTHER, "INVALID_ARGUMENT", "eod", "run", "--workers", "0", "--date", SEEDED_DAY),
        r(OTHER, "INVALID_ARGUMENT", "eod", "run", "--partition", "0", "--date", SEEDED_DAY),
        r(OTHER, "INVALID_ARGUMENT", "eod", "run", "--replay-sample", "-1", "--date", SEEDED_DAY),
        r(OTHER, "INVALID_ARGUMENT", "eod", "run", "--replay-sample", "10001", "--date", SEEDED_DAY),
        r(OTHER, "OPTION_TAKES_NO_VALUE", "eod", "run", "--json=1"),
        r(BAD_DATE, "INVALID_DATE", "eod", "run", "--date", "2026-13-01"),
    ],
    ("pii",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "pii", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "pii", "--bogus"),
    ],
    ("pii", "reindex"): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "pii", "reindex", "--batch-size", "abc"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "pii", "reindex", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "pii", "reindex", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "pii", "reindex", "--batch-size", "0"),
        r(OTHER, "INVALID_ARGUMENT", "pii", "reindex", "--batch-size", _HUGE),
    ],
    ("ledger",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "ledger", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "ledger", "--bogus"),
    ],
    ("ledger", "trial-balance"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "ledger", "trial-balance", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "ledger", "trial-balance", "extra"),
        r(OTHER, "OPTION_TAKES_NO_VALUE", "ledger", "trial-balance", "--json=yes"),
    ],
    ("limits",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "limits", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "limits", "--bogus"),
    ],
    ("limits", "reevaluate"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "limits", "reevaluate", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "limits", "reevaluate", "extra"),
        r(BAD_DATE, "INVALID_DATE", "limits", "reevaluate", "--date", "yesterday"),
    ],
    ("line",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "line", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "line", "--bogus"),
    ],
    ("line", "close"): [
        r(MISSING, "MISSING_ARGUMENT", "line", "close"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "line", "close", "{line}", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "line", "close", "{line}", "extra"),
        r(UNKNOWN_ID, "LINE_NOT_FOUND", "line", "close", "cl_nope"),
        r(OTHER, "LINE_HAS_OUTSTANDING", "line", "close", "{line}"),
        r(OTHER, "REASON_REQUIRED", "line", "close", "{line}", "--reason", ""),
        r(BAD_DATE, "INVALID_DATE", "line", "close", "{line}", "--date", "2026-02-29"),
    ],
    ("line", "open"): [
        r(MISSING, "MISSING_OPTION", *_LINE_OPEN[:-2]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_LINE_OPEN, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_LINE_OPEN, "extra"),
        r(ZERO, "ZERO_AMOUNT", *_LINE_OPEN[:-1], "0"),
        r(NEGATIVE, "NEGATIVE_AMOUNT", *_LINE_OPEN[:-1], "-5"),
        r(HUGE, "AMOUNT_TOO_LARGE", *_LINE_OPEN[:-1], _HUGE),
        r(OTHER, "LIMIT_OUT_OF_RANGE", *_LINE_OPEN[:-1], "100"),
        r(OTHER, "LIMIT_OUT_OF_RANGE", "line", "open", "--customer", "new", *_LINE_OPEN[4:-1], "100"),
        r(OTHER, "UNKNOWN_GRADE", *_LINE_OPEN, "--grade", "Z"),
        r(
            OTHER,
            "LINE_ALREADY_OPEN",
            "line",
            "open",
            "--customer",
            "{customer}",
            "--product",
            "quick",
            "--limit",
            "5000",
        ),
        r(UNKNOWN_ID, "UNKNOWN_PRODUCT", *_LINE_OPEN[:4], "--product", "nope", "--limit", "5000"),
        r(UNKNOWN_ID, "CUSTOMER_NOT_FOUND", "line", "open", "--customer", "cus_nope", *_LINE_OPEN[4:]),
        r(BAD_DATE, "INVALID_DATE", *_LINE_OPEN, "--date", "2025/06/16"),
    ],
    ("loan",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "loan", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "loan", "--bogus"),
    ],
    ("loan", "show"): [
        r(MISSING, "MISSING_ARGUMENT", "loan", "show"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "loan", "show", "{contract}", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "loan", "show", "{contract}", "extra"),
        r(UNKNOWN_ID, "CONTRACT_NOT_FOUND", "loan", "show", "ln_nope"),
    ],
    ("payment",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "payment", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "payment", "--bogus"),
    ],
    ("payment", "reverse"): [
        r(MISSING, "MISSING_OPTION", *_REVERSE[:5]),
        r(MISSING, "MISSING_ARGUMENT", "payment", "reverse"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_REVERSE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_REVERSE, "extra"),
        r(UNKNOWN_ID, "PAYMENT_NOT_FOUND", "payment", "reverse", "pay_nope", *_REVERSE[3:]),
        r(OTHER, "REASON_REQUIRED", *_REVERSE[:4], "", *_REVERSE[5:]),
        r(BAD_DATE, "INVALID_DATE", *_REVERSE, "--date", "2025-6-16x"),
    ],
    ("payment", "reconcile"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "payment", "reconcile", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "payment", "reconcile", "extra"),
        r(BAD_DATE, "INVALID_DATE", "payment", "reconcile", "--date", "2025-13-01"),
        r(OTHER, "STATEMENT_DATE_NOT_PAST", "payment", "reconcile", "--date", "2999-01-01"),
        r(OTHER, "CHANNEL_NOT_CONFIGURED", "payment", "reconcile", "--date", "2025-06-15"),
        r(OTHER, "STATEMENT_FILE_UNREADABLE", "payment", "reconcile", "--file", "/no/such/statement.csv"),
        r(OTHER, "STATEMENT_HEADER_INVALID", "payment", "reconcile", "--file", "/etc/hostname"),
    ],
    ("payment", "suspense"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "payment", "suspense", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "payment", "suspense", "extra"),
        r(BAD_ENUM, "INVALID_ARGUMENT", "payment", "suspense", "--status", "lost"),
    ],
    ("payoff",): [
        r(MISSING, "MISSING_OPTION", "payoff"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "payoff", "--customer", "{customer}", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "payoff", "--customer", "{customer}", "extra"),
        r(UNKNOWN_ID, "CUSTOMER_NOT_FOUND", "payoff", "--customer", "cus_nope"),
        r(BAD_DATE, "INVALID_DATE", "payoff", "--customer", "{customer}", "--date", "0000-01-01"),
    ],
    ("products",): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "products", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "products", "extra"),
    ],
    ("quote",): [
        r(MISSING, "MISSING_OPTION", "quote", "--amount", "1000"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", "quote", "--amount", "1000", "--term", "abc"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", *_QUOTE, "--installment-multiple", "1.5"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_QUOTE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_QUOTE, "extra"),
        r(ZERO, "ZERO_AMOUNT", "quote", "--amount", "0", *_QUOTE[3:]),
        r(NEGATIVE, "NEGATIVE_AMOUNT", "quote", "--amount", "-5", *_QUOTE[3:]),
        r(HUGE, "AMOUNT_TOO_LARGE", "quote", "--amount", _HUGE, *_QUOTE[3:]),
        r(OTHER, "INVALID_ARGUMENT", "quote", "--amount", "1000", "--term", "0", "--product", "quick"),
        r(OTHER, "INVALID_ARGUMENT", "quote", "--amount", "1000", "--term", _HUGE, "--product", "quick"),
        r(OTHER, "INVALID_ARGUMENT", *_QUOTE, "--installment-multiple", "0"),
        r(OTHER, "INVALID_ARGUMENT", *_QUOTE, "--daily-rate", "0.0005", "--annual-rate", "12%"),
        r(OTHER, "INVALID_RATE", "quote", "--amount", "1000", "--term", "12", "--daily-rate", "abc"),
        r(OTHER, "INVALID_RATE", "quote", "--amount", "1000", "--term", "12", "--daily-rate", "NaN"),
        r(OTHER, "DATE_OUT_OF_RANGE", *_QUOTE, "--start", "9999-06-01"),
        r(OTHER, "APR_OUT_OF_RANGE", *_EXPLICIT, "--term", "600", "--daily-rate", "1"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_QUOTE, "--method", "xyz"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_QUOTE, "--day-count", "366"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_QUOTE, "--rounding", "down"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_QUOTE, "--apr-method", "simple"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_QUOTE, "--interest-rule", "weeks"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_QUOTE, "--level-payment", "rounded"),
        r(UNKNOWN_ID, "UNKNOWN_PRODUCT", "quote", "--amount", "1000", "--term", "12", "--product", "nope"),
        r(OTHER, "UNKNOWN_GRADE", *_QUOTE, "--grade", "Z"),
        r(BAD_DATE, "INVALID_DATE", *_QUOTE, "--start", "2026-02-30"),
        r(BAD_DATE, "INVALID_DATE", *_QUOTE, "--first-due", "soon"),
    ],
    ("reminders",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "reminders", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "reminders", "--bogus"),
    ],
    ("reminders", "run"): [
        r(BAD_DATE, "INVALID_DATE", "reminders", "run", "--date", "2026-02-30"),
        r(BAD_DATE, "BUSINESS_DATE_MISMATCH", "reminders", "run", "--date", "2025-06-15"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "reminders", "run", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "reminders", "run", "extra"),
    ],
    ("reminders", "undelivered"): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "reminders", "undelivered", "--count", "many"),
        r(OTHER, "INVALID_ARGUMENT", "reminders", "undelivered", "--count", "0"),
        r(OTHER, "INVALID_ARGUMENT", "reminders", "undelivered", "--count", "1001"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "reminders", "undelivered", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "reminders", "undelivered", "extra"),
    ],
    ("repay-schedule",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "repay-schedule", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "repay-schedule", "--bogus"),
    ],
    ("repay-schedule", "book"): [
        r(
            MISSING,
            "MISSING_OPTION",
            "repay-schedule",
            "book",
            "--customer",
            "{customer}",
            "--take-on",
            "2025-07-10",
        ),
        r(MISSING, "MISSING_OPTION", *_SCHEDULE[:6]),
        r(
            UNKNOWN_ID,
            "CUSTOMER_NOT_FOUND",
            "repay-schedule",
            "book",
            "--customer",
            "cus_nope",
            *_SCHEDULE[4:],
        ),
        r(UNKNOWN_ID, "CONTRACT_NOT_FOUND", *_SCHEDULE[:4], "--contract", "ln_nope", *_SCHEDULE[6:]),
        r(ZERO, "ZERO_AMOUNT", *_SCHEDULE, "--amount", "0"),
        r(NEGATIVE, "NEGATIVE_AMOUNT", *_SCHEDULE, "--amount", "-5"),
        r(HUGE, "AMOUNT_TOO_LARGE", *_SCHEDULE, "--amount", _HUGE),
        r(BAD_DATE, "INVALID_DATE", *_SCHEDULE, "--date", "2025-13-13"),
        r(BAD_DATE, "INVALID_DATE", *_SCHEDULE[:6], "--take-on", "2025-07-32"),
        r(OTHER, "SCHEDULED_TOO_EARLY", *_SCHEDULE),
        r(OTHER, "SCHEDULED_DATE_NOT_FUTURE", *_SCHEDULE[:6], "--take-on", SEEDED_DAY),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_SCHEDULE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_SCHEDULE, "extra"),
    ],
    ("repay-schedule", "cancel"): [
        r(MISSING, "MISSING_ARGUMENT", "repay-schedule", "cancel", "--customer", "{customer}"),
        r(MISSING, "MISSING_OPTION", "repay-schedule", "cancel", "srp_nope"),
        r(
            UNKNOWN_ID,
            "SCHEDULED_NOT_FOUND",
            "repay-schedule",
            "cancel",
            "srp_nope",
            "--customer",
            "cus_nope",
        ),
        r(OTHER, "SCHEDULED_NOT_FOUND", "repay-schedule", "cancel", "srp_nope", "--customer", "{customer}"),
        r(
            BAD_DATE,
            "INVALID_DATE",
            "repay-schedule",
            "cancel",
            "srp_nope",
            "--customer",
            "{customer}",
            "--date",
            "x",
        ),
        r(
            UNKNOWN_OPTION,
            "UNKNOWN_OPTION",
            "repay-schedule",
            "cancel",
            "srp_nope",
            "--customer",
            "{customer}",
            "--bogus",
        ),
        r(
            EXTRA_ARGUMENT,
            "UNEXPECTED_ARGUMENT",
            "repay-schedule",
            "cancel",
            "srp_nope",
            "--customer",
            "{customer}",
            "x",
        ),
    ],
    ("repay-schedule", "list"): [
        r(MISSING, "MISSING_OPTION", "repay-schedule", "list"),
        r(UNKNOWN_ID, "CUSTOMER_NOT_FOUND", "repay-schedule", "list", "--customer", "cus_nope"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "repay-schedule", "list", "--customer", "{customer}", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "repay-schedule", "list", "--customer", "{customer}", "x"),
    ],
    ("repay-schedule", "take"): [
        r(BAD_DATE, "INVALID_DATE", "repay-schedule", "take", "--date", "2026-02-30"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "repay-schedule", "take", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "repay-schedule", "take", "extra"),
    ],
    ("repay",): [
        r(MISSING, "MISSING_OPTION", "repay", "--amount", "100"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_REPAY, "--amount", "100", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_REPAY, "--amount", "100", "extra"),
        r(ZERO, "ZERO_AMOUNT", *_REPAY, "--amount", "0"),
        r(NEGATIVE, "NEGATIVE_AMOUNT", *_REPAY, "--amount", "-5"),
        r(HUGE, "AMOUNT_TOO_LARGE", *_REPAY, "--amount", _HUGE),
        r(HUGE, "AMOUNT_TOO_LARGE", *_REPAY, "--amount", _BIGINT_OVERFLOW),
        r(OTHER, "INVALID_ARGUMENT", *_REPAY, "--amount", "100", "--all"),
        r(OTHER, "INVALID_ARGUMENT", *_REPAY),
        r(
            UNKNOWN_ID,
            "CUSTOMER_NOT_FOUND",
            "repay",
            "--customer",
            "cus_nope",
            "--amount",
            "100",
            "--key",
            "k",
        ),
        r(UNKNOWN_ID, "CONTRACT_NOT_OPEN", *_REPAY, "--contract", "ln_nope"),
        r(BAD_DATE, "INVALID_DATE", *_REPAY, "--amount", "100", "--date", "2025-00-01"),
        r(BAD_DATE, "INVALID_DATE", *_REPAY, "--amount", "100", "--value-date", "x"),
        r(
            OTHER,
            "VALUE_DATE_IN_FUTURE",
            *_REPAY,
            "--amount",
            "100",
            "--date",
            SEEDED_DAY,
            "--value-date",
            "2025-06-17",
        ),
    ],
    ("review",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "review", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "review", "--bogus"),
    ],
    ("review", "list"): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "review", "list", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "review", "list", "extra"),
        r(BAD_ENUM, "INVALID_ARGUMENT", "review", "list", "--status", "pending"),
    ],
    ("review", "propose"): [
        r(MISSING, "MISSING_OPTION", *_PROPOSE[:-2]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_PROPOSE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_PROPOSE, "extra"),
        r(ZERO, "ZERO_AMOUNT", *_PROPOSE[:-1], "0"),
        r(NEGATIVE, "NEGATIVE_AMOUNT", *_PROPOSE[:-1], "-5"),
        r(HUGE, "AMOUNT_TOO_LARGE", *_PROPOSE[:-1], _HUGE),
        r(OTHER, "LIMIT_OUT_OF_RANGE", *_PROPOSE[:-1], "100"),
        r(OTHER, "LIMIT_OUT_OF_RANGE", *_PROPOSE[:-1], "1000000"),
        r(OTHER, "UNKNOWN_GRADE", *_PROPOSE, "--grade", "Z"),
        r(OTHER, "REVIEWER_IS_REQUESTER", *_PROPOSE[:3], "--staff", "{customer}", *_PROPOSE[5:]),
        r(UNKNOWN_ID, "REVIEW_NOT_FOUND", "review", "propose", "rvw_nope", *_PROPOSE[3:]),
    ],
    ("review", "request"): [
        r(MISSING, "MISSING_OPTION", "review", "request", "{decision}"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "review", "request", "{decision}", "--by", "x", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "review", "request", "{decision}", "--by", "x", "extra"),
        r(UNKNOWN_ID, "DECISION_NOT_FOUND", "review", "request", "dec_nope", "--by", "x"),
        r(OTHER, "REVIEW_ALREADY_OPEN", "review", "request", "{decision}", "--by", "x"),
        r(OTHER, "ACTOR_REQUIRED", "review", "request", "{decision}", "--by", " "),
    ],
    ("review", "resolve"): [
        r(MISSING, "MISSING_OPTION", *_RESOLVE[:-2]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_RESOLVE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_RESOLVE, "extra"),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_RESOLVE[:-1], "approve"),
        r(OTHER, "OVERRIDE_NOT_PROPOSED", *_RESOLVE[:-1], "override"),
        r(UNKNOWN_ID, "REVIEW_NOT_FOUND", "review", "resolve", "rvw_nope", *_RESOLVE[3:]),
        r(BAD_DATE, "INVALID_DATE", *_RESOLVE, "--date", "2025-06-31"),
    ],
    ("risk",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "risk", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "risk", "--bogus"),
    ],
    ("risk", "monitor"): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "risk", "monitor", "--from-db", "--window-months", "six"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "risk", "monitor", "--from-db", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "risk", "monitor", "--from-db", "extra"),
        r(OTHER, "MONITOR_SOURCE", "risk", "monitor"),
        r(OTHER, "MONITOR_SOURCE", "risk", "monitor", "--from-db", "--data", "x.csv"),
        r(OTHER, "INVALID_PERFORMANCE_WINDOW", "risk", "monitor", "--from-db", "--window-months", "0"),
        r(OTHER, "INVALID_BAD_DPD", "risk", "monitor", "--from-db", "--bad-dpd", _HUGE),
        r(OTHER, "DATA_NOT_FOUND", "risk", "monitor", "--data", "/no/such/file.csv"),
        r(BAD_DATE, "INVALID_DATE", "risk", "monitor", "--from-db", "--since", "last week"),
        r(BAD_DATE, "INVALID_DATE", "risk", "monitor", "--from-db", "--until", "2025-02-29"),
    ],
    ("risk", "train"): [
        r(MISSING, "MISSING_OPTION", "risk", "train", "--target", "y", "--out", "/tmp/x"),
        r(
            WRONG_TYPE,
            "INVALID_ARGUMENT",
            "risk",
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--out",
            "o",
            "--folds",
            "many",
        ),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "risk", "train", "--data", "d.csv", "--bogus"),
        r(
            EXTRA_ARGUMENT,
            "UNEXPECTED_ARGUMENT",
            "risk",
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--out",
            "o",
            "x",
        ),
        r(
            OTHER,
            "INVALID_ARGUMENT",
            "risk",
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--out",
            "o",
            "--folds",
            "1",
        ),
        r(
            OTHER,
            "INVALID_ARGUMENT",
            "risk",
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--out",
            "o",
            "--pdo",
            "nan",
        ),
        r(
            OTHER,
            "INVALID_ARGUMENT",
            "risk",
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--out",
            "o",
            "--seed",
            "-1",
        ),
        r(
            OTHER,
            "INVALID_SCALING",
            "risk",
            "train",
            "--data",
            "{csv}",
            "--target",
            "y",
            "--out",
            "o",
            "--pdo",
            "0",
        ),
        r(OTHER, "DATA_NOT_FOUND", "risk", "train", "--data", "/no/such.csv", "--target", "y", "--out", "o"),
    ],
    ("serve",): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "serve", "--port", "http"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", "serve", "--workers", "two"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "serve", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "serve", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "serve", "--port", "0"),
        r(OTHER, "INVALID_ARGUMENT", "serve", "--port", "65536"),
        r(OTHER, "INVALID_ARGUMENT", "serve", "--workers", "0"),
        r(OTHER, "OPTION_TAKES_NO_VALUE", "serve", "--migrate=yes"),
        r(OTHER, "OPTION_NEEDS_VALUE", "serve", "--host"),
    ],
    ("version",): [
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "version", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "version", "extra"),
    ],
    ("waive",): [
        r(MISSING, "MISSING_OPTION", *_WAIVE[:5]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_WAIVE, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_WAIVE, "extra"),
        r(ZERO, "ZERO_AMOUNT", *_WAIVE, "--amount", "0"),
        r(NEGATIVE, "NEGATIVE_AMOUNT", *_WAIVE, "--amount", "-5"),
        r(HUGE, "AMOUNT_TOO_LARGE", *_WAIVE, "--amount", _HUGE),
        r(BAD_ENUM, "INVALID_ARGUMENT", *_WAIVE, "--kind", "principal"),
        r(OTHER, "REASON_REQUIRED", *_WAIVE[:4], " ", *_WAIVE[5:]),
        r(UNKNOWN_ID, "CONTRACT_NOT_FOUND", "waive", "--contract", "ln_nope", *_WAIVE[3:]),
        r(BAD_DATE, "INVALID_DATE", *_WAIVE, "--date", "2025-06-1"),
    ],
    ("bench",): [
        r(UNKNOWN_COMMAND, "UNKNOWN_COMMAND", "bench", "bogus"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "bench", "--bogus"),
    ],
    ("bench", "seed"): [
        r(MISSING, "MISSING_OPTION", "bench", "seed"),
        r(WRONG_TYPE, "INVALID_ARGUMENT", "bench", "seed", "--contracts", "many"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "bench", "seed", "--contracts", "10", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "bench", "seed", "--contracts", "10", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "bench", "seed", "--contracts", "0"),
        r(OTHER, "INVALID_ARGUMENT", "bench", "seed", "--contracts", _HUGE),
        r(OTHER, "INVALID_ARGUMENT", "bench", "seed", "--contracts", "10", "--batch", "0"),
        r(OTHER, "INVALID_DATE", "bench", "seed", "--contracts", "10", "--as-of", "2026-02-30"),
        r(OTHER, "SEED_DATABASE_NOT_EMPTY", "bench", "seed", "--contracts", "10"),  # the world has a contract
    ],
    ("worker",): [
        r(WRONG_TYPE, "INVALID_ARGUMENT", "worker", "--concurrency", "four"),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", "worker", "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", "worker", "extra"),
        r(OTHER, "INVALID_ARGUMENT", "worker", "--concurrency", "0"),
        r(OTHER, "INVALID_ARGUMENT", "worker", "--concurrency", "65"),
        r(OTHER, "OPTION_TAKES_NO_VALUE", "worker", "--once=1"),
    ],
    ("write-off",): [
        r(MISSING, "MISSING_OPTION", *_WRITE_OFF[:5]),
        r(UNKNOWN_OPTION, "UNKNOWN_OPTION", *_WRITE_OFF, "--bogus"),
        r(EXTRA_ARGUMENT, "UNEXPECTED_ARGUMENT", *_WRITE_OFF, "extra"),
        r(OTHER, "REASON_REQUIRED", *_WRITE_OFF[:4], "", *_WRITE_OFF[5:]),
        r(OTHER, "WRITE_OFF_NOT_ELIGIBLE", *_WRITE_OFF, "--date", SEEDED_DAY),
        r(UNKNOWN_ID, "CONTRACT_NOT_FOUND", "write-off", "--contract", "ln_nope", *_WRITE_OFF[3:]),
        r(BAD_DATE, "INVALID_DATE", *_WRITE_OFF, "--date", "2025-13-13"),
    ],
}


# --- the commands of the app and what their parameters call for -----------------------------------
def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk(typer.main.get_command(app)))


def _base_type(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Annotated:
        return _base_type(args[0])
    if args and typing.get_origin(annotation) is not list:
        return _base_type(args[0]) if len(args) == 1 else annotation
    return annotation


def required_kinds(command: Any) -> set[str]:
    """The kinds of bad input a command must have rows for, from its parameters."""
    if getattr(command, "commands", None) is not None and command.commands:
        return {UNKNOWN_COMMAND, UNKNOWN_OPTION}
    kinds = {UNKNOWN_OPTION, EXTRA_ARGUMENT}
    hints = typing.get_type_hints(command.callback, include_extras=True)
    for param in command.params:
        base = _base_type(hints.get(param.name, str))
        if param.required:
            kinds.add(MISSING)
        if isinstance(base, type) and issubclass(base, Enum):
            kinds.add(BAD_ENUM)
        elif base in (int, float):
            kinds.add(WRONG_TYPE)
        if param.name in AMOUNT_OPTIONS:
            kinds |= {ZERO, NEGATIVE, HUGE}
        if param.name in ID_PARAMS:
            kinds.add(UNKNOWN_ID)
        if param.name in DATE_PARAMS:
            kinds.add(BAD_DATE)
    return kinds


def test_every_command_has_rows_for_every_kind_of_bad_input() -> None:
    assert set(ROWS) == set(COMMANDS), "commands without rows (or rows without a command)"
    for path, command in COMMANDS.items():
        missing = required_kinds(command) - {row.kind for row in ROWS[path]}
        assert not missing, f"`lendcore {' '.join(path)}` has no row for: {', '.join(sorted(missing))}"


def test_every_enum_option_lists_its_allowed_values_in_help() -> None:
    for path, command in COMMANDS.items():
        if not path or getattr(command, "commands", None):
            continue
        hints = typing.get_type_hints(command.callback, include_extras=True)
        enums = [p for p in command.params if _is_enum(hints.get(p.name, str))]
        if not enums:
            continue
        shown = " ".join(runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).stdout.split())
        for param in enums:
            for member in _base_type(hints[param.name]):
                assert member.value in shown, (path, param.name, member.value)


def _is_enum(annotation: Any) -> bool:
    base = _base_type(annotation)
    return isinstance(base, type) and issubclass(base, Enum)


# --- the world the rows run against ---------------------------------------------------------------
def _ok(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _seed(tmp_path: Path) -> dict[str, str]:
    id_number = make_id()
    customer = _ok(*_register_args(id_number, *_CONSENTS, "--date", SEEDED_DAY))["id"]
    applied = _ok(
        *("apply", "--customer", customer, "--amount", "30000", "--term", "12", "--income", "25000"),
        *("--account-standing", "salary_or_high", "--savings", "50000", "--employment-years", "8"),
        *("--occupation", "skilled", "--housing", "own", "--property", "real_estate"),
        *("--date", SEEDED_DAY, "--key", "apply-1"),
    )
    assert applied["outcome"] == "approved", applied
    line = applied["credit_line_id"]
    drawn = _ok(
        "draw",
        "--line",
        line,
        "--amount",
        "1000",
        "--term",
        "3",
        "--yes",
        "--key",
        "d1",
        "--date",
        SEEDED_DAY,
    )
    paid = _ok("repay", "--customer", customer, "--amount", "100", "--key", "r1", "--date", SEEDED_DAY)
    _ok("admin", "create-user", "--username", "seeded.admin", "--role", "admin")
    proposal = _ok("approvals", "propose", "line-freeze", line, "--staff", "seeded.admin", "--reason", "seed")
    _ok("accounts", "add", SEEDED_ACCOUNT, *_ACCOUNT, "--valid-from", SEEDED_DAY)
    review = runner.invoke(app, ["review", "request", applied["decision_id"], "--by", customer])
    assert review.exit_code == 0, review.output
    csv = tmp_path / "tiny.csv"
    csv.write_text("x,y\n1,0\n2,1\n", encoding="utf-8")
    return {
        "customer": customer,
        "id_number": id_number,
        "line": line,
        "decision": applied["decision_id"],
        "contract": drawn["contract_id"],
        "payment": paid["payment_id"],
        "review": review.stdout.split()[1],
        "proposal": proposal["id"],
        "csv": str(csv),
    }


class RowCounts:
    """Row counts of every table, on one engine for the whole test."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        tables = Base.metadata.sorted_tables
        self.query = union_all(
            *(select(literal(t.name).label("t"), func.count().label("n")).select_from(t) for t in tables)
        )

    def __call__(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {name: int(n) for name, n in connection.execute(self.query)}


def _problems(row: Row, world: dict[str, str], counts: RowCounts) -> list[str]:
    args = [a.format(**world) if "{" in a else a for a in row.args]
    before = counts()
    result = runner.invoke(app, args)
    shown = f"lendcore {' '.join(args)}"
    found = []
    if not isinstance(result.exception, SystemExit | None):
        found.append(f"{shown}: raised {result.exception!r}")
    if result.exit_code != 2:
        found.append(f"{shown}: exit {result.exit_code}")
    lines = result.stderr.splitlines()
    if len(lines) != 1 or not ERROR_LINE.match(lines[0]):
        found.append(f"{shown}: stderr is not one error line: {result.stderr!r}")
    elif not lines[0].endswith(f"[{row.code}]"):
        found.append(f"{shown}: expected [{row.code}], got {lines[0]!r}")
    if "Traceback" in result.output:
        found.append(f"{shown}: traceback")
    if result.stdout and args[0] != "demo":  # the demo names its database before it opens it
        found.append(f"{shown}: wrote to stdout: {result.stdout[:200]!r}")
    if counts() != before:
        found.append(f"{shown}: the database changed")
    return found


@pytest.fixture
def world(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # CliRunner rebuilds the whole command tree from the Typer app for every call (~0.2 s); the rows
    # share the tree built once (Click commands keep no state between invocations).
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: COMMANDS[()])
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    monkeypatch.delenv("LENDCORE_CHANNEL_URL", raising=False)  # CHANNEL_NOT_CONFIGURED is a row
    monkeypatch.setenv("LENDCORE_PII_KEYS", f"k1:{base64.b64encode(generate_key()).decode()}")
    monkeypatch.setenv("LENDCORE_PII_HMAC_KEY", base64.b64encode(generate_key()).decode())
    monkeypatch.chdir(tmp_path)
    return _seed(tmp_path)


def test_every_refusal_is_one_error_line_exit_2_and_writes_nothing(
    world: dict[str, str], database_url: str
) -> None:
    counts = RowCounts(database_url)
    try:
        problems = [p for rows in ROWS.values() for row in rows for p in _problems(row, world, counts)]
    finally:
        counts.engine.dispose()
    assert not problems, "\n".join(problems)


def test_a_bare_group_prints_its_help() -> None:
    for path, command in COMMANDS.items():
        if getattr(command, "commands", None):
            result = runner.invoke(app, list(path))
            assert result.exit_code == 0 and "Usage" in result.stdout, path


def test_an_unreachable_database_server_is_one_line_exit_1(tmp_path: Path) -> None:
    """Not a refusal of the request (it could not be tried), so exit 1; still one line with a code."""
    result = runner.invoke(app, ["demo", "--database", "postgresql+psycopg://lendcore@127.0.0.1:1/none"])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert ERROR_LINE.match(line) and line.endswith("[DATABASE_UNAVAILABLE]")


_amount_texts = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A[-+]?[¥￥]?[0-9,]{1,30}(\.[0-9]{0,4})?\Z"),
    st.sampled_from(["1e5", "NaN", "Infinity", "１２３", _HUGE, _BIGINT_OVERFLOW, "9" * 5000]),
)


@settings(max_examples=80)
@given(amount=_amount_texts, term=st.integers(-(10**25), 10**25).map(str) | st.text(max_size=8))
def test_any_amount_and_term_text_is_a_quote_or_one_error_line(amount: str, term: str) -> None:
    with mock.patch.object(typer.testing, "_get_command", lambda _app: COMMANDS[()]):
        result = runner.invoke(app, ["quote", "--product", "quick", "--amount", amount, "--term", term])
    assert isinstance(result.exception, SystemExit | None), result.exception
    if result.exit_code != 0:
        assert result.exit_code == 2
        [line] = result.stderr.splitlines()
        assert ERROR_LINE.match(line), line
