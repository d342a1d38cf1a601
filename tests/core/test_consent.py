from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lendcore.core.consent import (
    ConsentKind,
    ConsentRecord,
    grant,
    has_consent,
    missing_consents,
    require_consents,
    revoke,
)
from lendcore.core.errors import BusinessRuleError, ValidationError

T0 = datetime(2025, 1, 1, 8, tzinfo=UTC)


def test_grant_revoke_window() -> None:
    r = grant(ConsentKind.CREDIT_BUREAU_QUERY, "1.0", T0)
    assert not has_consent([r], ConsentKind.CREDIT_BUREAU_QUERY, T0 - timedelta(seconds=1))
    assert has_consent([r], ConsentKind.CREDIT_BUREAU_QUERY, T0)
    rv = revoke(r, T0 + timedelta(days=1))
    assert has_consent([rv], ConsentKind.CREDIT_BUREAU_QUERY, T0 + timedelta(hours=23))
    assert not has_consent([rv], ConsentKind.CREDIT_BUREAU_QUERY, T0 + timedelta(days=1))
    with pytest.raises(BusinessRuleError) as exc:
        revoke(rv, T0 + timedelta(days=2))
    assert exc.value.code == "CONSENT_ALREADY_REVOKED"


def test_kinds_are_separate() -> None:
    records = [grant(ConsentKind.TERMS, "3", T0), grant(ConsentKind.PRIVACY, "2", T0)]
    assert not has_consent(records, ConsentKind.CREDIT_BUREAU_QUERY, T0)
    assert not has_consent(records, ConsentKind.FUNDING_PARTNER_SHARING, T0)
    assert missing_consents(records, T0) == (ConsentKind.SENSITIVE_PERSONAL_INFO,)
    with pytest.raises(BusinessRuleError) as exc:
        require_consents(records, T0)
    assert exc.value.code == "CONSENT_REQUIRED"
    require_consents([*records, grant(ConsentKind.SENSITIVE_PERSONAL_INFO, "1", T0)], T0)


def test_scope_and_version() -> None:
    r = grant(ConsentKind.FUNDING_PARTNER_SHARING, "2.10", T0, scope="bank_a")
    assert has_consent([r], ConsentKind.FUNDING_PARTNER_SHARING, T0, scope="bank_a")
    assert not has_consent([r], ConsentKind.FUNDING_PARTNER_SHARING, T0, scope="bank_b")
    assert has_consent([r], ConsentKind.FUNDING_PARTNER_SHARING, T0, min_text_version="2.9")
    assert not has_consent([r], ConsentKind.FUNDING_PARTNER_SHARING, T0, min_text_version="3")
    wide = grant(ConsentKind.FUNDING_PARTNER_SHARING, "1", T0)
    assert has_consent([wide], ConsentKind.FUNDING_PARTNER_SHARING, T0, scope="bank_b")


def test_invalid_records() -> None:
    with pytest.raises(ValidationError):
        ConsentRecord(ConsentKind.TERMS, "", T0)
    with pytest.raises(ValidationError):
        ConsentRecord(ConsentKind.TERMS, "1", datetime(2025, 1, 1))
    with pytest.raises(ValidationError):
        ConsentRecord(ConsentKind.TERMS, "1", T0, revoked_at=T0 - timedelta(days=1))
