"""Every stable error code raised anywhere in lendcore has one row in the error table, and the row
agrees with the family of the exception that raises it."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections import defaultdict
from pathlib import Path

import lendcore
from lendcore.core.errors import (
    BusinessRuleError,
    ConflictError,
    InvariantViolationError,
    LendcoreError,
    NotFoundError,
    ValidationError,
)
from lendcore.error_table import ERRORS, EXIT_FAILED, EXIT_REJECTED, spec_for

SRC = Path(lendcore.__file__).parent


def _all_error_classes() -> dict[str, type[LendcoreError]]:
    for module in pkgutil.walk_packages(lendcore.__path__, "lendcore."):
        if not module.name.startswith("lendcore.store.migrations"):  # scripts run by alembic only
            importlib.import_module(module.name)  # every error class of lendcore, registered
    found: dict[str, type[LendcoreError]] = {}
    pending: list[type[LendcoreError]] = [LendcoreError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


CLASSES = _all_error_classes()


#: Helpers taking an error code as a positional argument: name → its index.
CODE_ARGUMENT = {"check_text": 1}


def _raised_codes() -> dict[str, set[str]]:
    """code → names of what raises it (exception classes or helpers): every ``code="…"``, every
    module constant ``E_… = "…"`` / ``…_CODE = "…"``, and codes handed to helpers positionally."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                value = node.value
                if any(n.startswith("E_") or n.endswith("_CODE") or n == "default_code" for n in names) and (
                    isinstance(value, ast.Constant) and isinstance(value.value, str)
                ):
                    found[value.value].add("constant")
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "?")
            index = CODE_ARGUMENT.get(name)
            if index is not None and len(node.args) > index and isinstance(node.args[index], ast.Constant):
                found[str(node.args[index].value)].add(name)
            for kw in node.keywords:
                if (
                    kw.arg == "code"
                    and isinstance(kw.value, ast.Constant)
                    and isinstance(kw.value.value, str)
                ):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "?")
                    found[kw.value.value].add(name)
    return found


def test_every_code_raised_in_the_sources_is_in_the_table() -> None:
    missing = sorted(set(_raised_codes()) - set(ERRORS))
    assert missing == [], f"add these codes to lendcore/error_table.py: {missing}"


def test_a_code_raised_as_an_exception_class_maps_to_that_family_status() -> None:
    wrong = []
    for code, raisers in _raised_codes().items():
        for name in raisers & set(CLASSES):
            family_status = CLASSES[name].http_status
            if ERRORS[code].http_status != family_status and code not in (
                "IDEMPOTENCY_KEY_REUSED",
                "INVALID_IDEMPOTENCY_KEY",
                "UNSUPPORTED_INTEREST_RULE",
            ):
                wrong.append((code, name, ERRORS[code].http_status))
    assert wrong == []


def test_refusals_exit_2_and_failures_exit_1() -> None:
    assert spec_for(ValidationError("x", code="AMOUNT_TOO_LARGE")).exit_code == EXIT_REJECTED
    assert spec_for(BusinessRuleError("x", code="LIMIT_EXCEEDED")).http_status == 409
    assert spec_for(NotFoundError("x", code="CONTRACT_NOT_FOUND")).http_status == 404
    assert spec_for(ConflictError("x", code="IDEMPOTENCY_KEY_REUSED")).http_status == 422
    assert spec_for(InvariantViolationError("x", code="SUBLEDGER_MISMATCH")).exit_code == EXIT_FAILED
    assert spec_for(ValidationError("x", code="INVALID_SAVINGS")).http_status == 422  # per-field codes
