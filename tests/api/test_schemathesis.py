"""Fuzzing the live server against its own OpenAPI document (schemathesis): every operation, valid
and invalid inputs, with and without credentials. No response is a 5xx, and every response has a
status, a content type, headers and a body its operation documents."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lendcore.api.settings import ApiSettings
from lendcore.auth.principal import Principal, StaffRole
from tests.api.conftest import LiveApi, MakeApi

EXAMPLES_PER_OPERATION = 60
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzzed(make_api: MakeApi) -> LiveApi:
    # Rate limits off: the fuzzer would spend its cases on 429s.
    return make_api(settings=ApiSettings(rate_limits_enabled=False))


def _run(api: LiveApi, operation: Any, mode: GenerationMode, headers: dict[str, str], examples: int) -> int:
    ran = 0
    checks = [*CHECKS, negative_data_rejection] if mode == GenerationMode.NEGATIVE else CHECKS

    @settings(
        max_examples=examples,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        nonlocal ran
        ran += 1
        case.call_and_validate(base_url=api.base_url, headers=headers, checks=checks)

    try:
        one()
    except Unsatisfiable:  # an operation with no input has nothing to make invalid
        assert mode == GenerationMode.NEGATIVE and ran == 0
    return ran


def test_the_live_api_conforms_to_its_openapi_document(
    fuzzed: LiveApi, record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed.base_url}/api/v1/openapi.json")
    admin_id = fuzzed.staff("root", StaffRole.ADMIN)
    admin = fuzzed.auth(Principal("staff", admin_id, frozenset({StaffRole.ADMIN}), "root"))
    customer_id, _ = fuzzed.customer()
    customer = fuzzed.auth(Principal("customer", customer_id))
    cases, operations = 0, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        cases += _run(fuzzed, operation, GenerationMode.POSITIVE, admin, EXAMPLES_PER_OPERATION)
        cases += _run(fuzzed, operation, GenerationMode.NEGATIVE, admin, EXAMPLES_PER_OPERATION)
        cases += _run(fuzzed, operation, GenerationMode.POSITIVE, customer, EXAMPLES_PER_OPERATION // 4)
        cases += _run(fuzzed, operation, GenerationMode.POSITIVE, {}, EXAMPLES_PER_OPERATION // 4)
    record_property("schemathesis_cases", cases)
    with capsys.disabled():
        print(f"\nschemathesis: {cases} cases over {operations} operations, no failure")
    assert operations >= 10 and cases >= operations * EXAMPLES_PER_OPERATION
