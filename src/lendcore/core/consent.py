"""Consents (PIPL Art. 13, 23, 29): separate per kind, versioned, scoped, revocable.

A consent record is never edited: revoking sets ``revoked_at`` on a new copy (the store keeps both as
events). :func:`has_consent` answers "did the customer consent to KIND at instant AT?" from the
records alone; the caller passes the instant (no clock here). A step that needs a consent it does not
have is *skipped*, not faked (e.g. no credit-bureau query without 征信授权).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from lendcore.core.errors import BusinessRuleError, ValidationError


class ConsentKind(StrEnum):
    TERMS = "terms"  # 用户服务协议
    PRIVACY = "privacy"  # 隐私政策
    CREDIT_BUREAU_QUERY = "credit_bureau_query"  # 征信查询授权书
    FUNDING_PARTNER_SHARING = "funding_partner_sharing"  # 向出资方提供个人信息 (PIPL Art. 23)
    SENSITIVE_PERSONAL_INFO = "sensitive_personal_info"  # 敏感个人信息处理 (PIPL Art. 29)


#: Consents without which an application cannot proceed at all.
REQUIRED_TO_APPLY: tuple[ConsentKind, ...] = (
    ConsentKind.TERMS,
    ConsentKind.PRIVACY,
    ConsentKind.SENSITIVE_PERSONAL_INFO,
)


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One grant of one consent kind. ``scope`` narrows it (e.g. a funding partner id); ``""`` = all."""

    kind: ConsentKind
    text_version: str
    granted_at: datetime
    scope: str = ""
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.text_version:
            raise ValidationError("consent text version is required", code="CONSENT_TEXT_VERSION_REQUIRED")
        if self.granted_at.tzinfo is None or (self.revoked_at is not None and self.revoked_at.tzinfo is None):
            raise ValidationError("consent timestamps must be timezone-aware", code="NAIVE_TIMESTAMP")
        if self.revoked_at is not None and self.revoked_at < self.granted_at:
            raise ValidationError(
                "consent revoked before it was granted", code="CONSENT_REVOKED_BEFORE_GRANT"
            )

    def active_at(self, at: datetime) -> bool:
        return self.granted_at <= at and (self.revoked_at is None or at < self.revoked_at)


def grant(kind: ConsentKind, text_version: str, at: datetime, scope: str = "") -> ConsentRecord:
    return ConsentRecord(kind, text_version, at, scope)


def revoke(record: ConsentRecord, at: datetime) -> ConsentRecord:
    """The record with ``revoked_at`` set; ``CONSENT_ALREADY_REVOKED`` if it already was."""
    if record.revoked_at is not None:
        raise BusinessRuleError("consent already revoked", code="CONSENT_ALREADY_REVOKED")
    return replace(record, revoked_at=at)


def has_consent(
    records: Iterable[ConsentRecord],
    kind: ConsentKind,
    at: datetime,
    *,
    scope: str | None = None,
    min_text_version: str | None = None,
) -> bool:
    """True if some record of ``kind`` is active at ``at``.

    ``scope``: a record with scope ``""`` covers every scope; otherwise scopes must be equal.
    ``min_text_version``: versions compare as dotted integers (``"2.10" > "2.9"``).
    """
    for r in records:
        if r.kind is not kind or not r.active_at(at):
            continue
        if scope is not None and r.scope not in ("", scope):
            continue
        if min_text_version is not None and _version_key(r.text_version) < _version_key(min_text_version):
            continue
        return True
    return False


def missing_consents(
    records: Iterable[ConsentRecord], at: datetime, required: Iterable[ConsentKind] = REQUIRED_TO_APPLY
) -> tuple[ConsentKind, ...]:
    recs = tuple(records)
    return tuple(k for k in required if not has_consent(recs, k, at))


def require_consents(
    records: Iterable[ConsentRecord], at: datetime, required: Iterable[ConsentKind] = REQUIRED_TO_APPLY
) -> None:
    """``CONSENT_REQUIRED`` (details: ``missing``) unless every required consent is active at ``at``."""
    missing = missing_consents(records, at, required)
    if missing:
        raise BusinessRuleError(
            "consent required: " + ", ".join(missing),
            code="CONSENT_REQUIRED",
            missing=[str(k) for k in missing],
        )


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in version.split("."))
