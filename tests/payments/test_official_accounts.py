"""The official account registry on SQLite and PostgreSQL: an added entry answers the check; entries
for one number may not overlap in time; a refusal writes nothing; adding is audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConflictError, ValidationError
from lendcore.payments.official_accounts import (
    AddOfficialAccountRequest,
    add_official_account,
    check_official_account,
    check_to_json,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord
from lendcore.store.models_autopay import OfficialAccountRow

NUMBER = "6222 0200 0000 1234"


def _request(number: str = NUMBER, **changes: object) -> AddOfficialAccountRequest:
    fields: dict[str, object] = {
        "number": number, "bank_name": " ICBC Shanghai ", "holder": "Lendcore Ltd", "purpose": "repayments",
        "valid_from": date(2026, 1, 1), "valid_to": date(2026, 6, 30),
    }  # fmt: skip
    fields.update(changes)
    return AddOfficialAccountRequest(**fields)  # type: ignore[arg-type]


def _rows(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(OfficialAccountRow)) or 0)


def test_an_added_account_is_official_inside_its_validity(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        view = add_official_account(session, _request(), actor="ops1")
    assert view.account.number == "6222020000001234" and view.account.bank_name == "ICBC Shanghai"
    with unit_of_work(session_factory, read_only=True) as session:
        inside = check_to_json(check_official_account(session, "6222-0200-0000-1234", date(2026, 3, 1)))
        after = check_official_account(session, NUMBER, date(2026, 7, 1))
        audit = session.scalars(select(AuditRecord).where(AuditRecord.target_id == view.id)).one()
        audited = (audit.action, audit.actor, str(audit.details))
    assert (
        inside["official"] is True
        and inside["holder"] == "Lendcore Ltd"
        and inside["valid_to"] == "2026-06-30"
    )
    assert not after.official
    assert audited[:2] == ("official_account.add", "ops1")
    assert "****1234" in audited[2] and "6222020000001234" not in audited[2]


def test_entries_for_one_number_must_not_overlap(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        add_official_account(session, _request(), actor="ops1")
    for starts, ends in [
        (date(2026, 6, 30), None),
        (date(2025, 1, 1), date(2026, 1, 1)),
        (date(2026, 2, 1), date(2026, 2, 2)),
    ]:
        with pytest.raises(ConflictError) as caught, unit_of_work(session_factory) as session:
            add_official_account(session, _request(valid_from=starts, valid_to=ends), actor="ops1")
        assert caught.value.code == "ACCOUNT_ALREADY_REGISTERED"
    with unit_of_work(session_factory) as session:  # the next period is fine: the account is reused
        add_official_account(session, _request(valid_from=date(2026, 7, 1), valid_to=None), actor="ops1")
    assert _rows(session_factory) == 2
    with unit_of_work(session_factory, read_only=True) as session:
        assert check_official_account(session, NUMBER, date(2030, 1, 1)).official


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"number": "6222 O200"}, "INVALID_ACCOUNT_NUMBER"),
        ({"bank_name": "  "}, "ACCOUNT_DETAILS_INVALID"),
        ({"holder": "x" * 101}, "ACCOUNT_DETAILS_INVALID"),
        ({"purpose": ""}, "ACCOUNT_DETAILS_INVALID"),
        ({"valid_to": date(2025, 12, 31)}, "ACCOUNT_VALIDITY_INVALID"),
    ],
)
def test_bad_input_is_one_error_and_nothing_is_written(
    session_factory: sessionmaker[Session], changes: dict[str, object], code: str
) -> None:
    with pytest.raises(ValidationError) as caught, unit_of_work(session_factory) as session:
        add_official_account(session, _request(**changes), actor="ops1")  # type: ignore[arg-type]
    assert caught.value.code == code
    assert _rows(session_factory) == 0
