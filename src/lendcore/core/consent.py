"""Consents (PIPL Art. 13, 23, 29): separate per kind, versioned, scoped, revocable.

A consent record is never edited: revoking sets ``revoked_at`` on a new copy (the store keeps both as
events). :func:`has_consent` answers "did the customer consent to KIND at instant AT?" from the
records alone; the caller passes the instant (no clock here). A step that needs a consent it does not
have is *skipped*, not faked (e.g. no credit-bureau query without 征信授权).

A consent is given to a *published text*: :class:`ConsentTexts` is the registry of the texts that
were published, kind → versions (each with its text and SHA-256), shipped as data
(``lendcore/data/consent_texts.toml``, loaded by :mod:`lendcore.origination.consent_texts`). A grant
naming a version that was never published is refused (``CONSENT_VERSION_UNKNOWN``).

Sensitive personal information (PIPL Art. 28: 特定身份, 金融账户 …) is collected only once its
separate consent (Art. 29, :attr:`ConsentKind.SENSITIVE_PERSONAL_INFO`) has been given, in the same
request or earlier (:func:`require_sensitive_consent`, ``SENSITIVE_CONSENT_REQUIRED``). lendcore
treats as sensitive: the resident ID number (specific identity) and bank-card numbers (financial
accounts), collected at onboarding; income, savings, debts and marital status, collected with a
credit application (property information and 婚史 in GB/T 35273-2020 Annex B), which is why the
consent is also :data:`REQUIRED_TO_APPLY`. The name and the mobile number are personal information
but not sensitive (GB/T 35273-2020); the terms and the privacy policy cover them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from lendcore.core.errors import BusinessRuleError, ConfigurationError, ValidationError


class ConsentKind(StrEnum):
    TERMS = "terms"  # 用户服务协议
    PRIVACY = "privacy"  # 隐私政策
    CREDIT_BUREAU_QUERY = "credit_bureau_query"  # 征信查询授权书
    FUNDING_PARTNER_SHARING = "funding_partner_sharing"  # 向出资方提供个人信息 (PIPL Art. 23)
    SENSITIVE_PERSONAL_INFO = "sensitive_personal_info"  # 敏感个人信息处理 (PIPL Art. 29)
    AUTOPAY_DEBIT = "autopay_debit"  # 委托扣款授权书 (an autopay mandate needs it)


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


# --- published texts ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PublishedText:
    """One published version of the text of one consent kind."""

    kind: ConsentKind
    version: str
    published_on: date
    sha256: str  # of ``text`` as UTF-8
    text: str

    def __post_init__(self) -> None:
        if not self.version:
            raise ConfigurationError(
                f"a published {self.kind} text has no version", code="INVALID_CONSENT_TEXTS"
            )
        if hashlib.sha256(self.text.encode("utf-8")).hexdigest() != self.sha256:
            raise ConfigurationError(
                f"the published {self.kind} text {self.version} does not match its SHA-256: a published "
                "text never changes (publish a new version instead)",
                code="CONSENT_TEXT_ALTERED",
            )


@dataclass(frozen=True, slots=True)
class ConsentTexts:
    """The registry of published consent texts: kind → versions."""

    texts: tuple[PublishedText, ...]

    def __post_init__(self) -> None:
        seen = {(t.kind, t.version) for t in self.texts}
        if len(seen) != len(self.texts):
            raise ConfigurationError(
                "a consent text version is published twice", code="INVALID_CONSENT_TEXTS"
            )

    def versions(self, kind: ConsentKind) -> tuple[str, ...]:
        """The published versions of ``kind``, oldest first."""
        return tuple(sorted((t.version for t in self.texts if t.kind is kind), key=_version_key))

    def latest(self, kind: ConsentKind) -> PublishedText:
        """The newest published text of ``kind`` (``CONSENT_VERSION_UNKNOWN`` if none was published)."""
        versions = self.versions(kind)
        if not versions:
            raise ValidationError(
                f"no {kind} text is published", code="CONSENT_VERSION_UNKNOWN", kind=str(kind)
            )
        return self.published(kind, versions[-1])

    def published(self, kind: ConsentKind, version: str) -> PublishedText:
        """The text of ``kind`` at ``version``; ``CONSENT_VERSION_UNKNOWN`` if it was never published."""
        for t in self.texts:
            if t.kind is kind and t.version == version:
                return t
        shown = version if len(version) <= 20 else version[:19] + "…"
        published = ", ".join(self.versions(kind)) or "-"
        raise ValidationError(
            f"{kind} version {shown!r} was never published; published: {published}",
            code="CONSENT_VERSION_UNKNOWN",
            kind=str(kind),
        )


#: The onboarding fields that are sensitive personal information (PIPL Art. 28), see the module doc.
SENSITIVE_ONBOARDING_FIELDS: Final = ("id_number", "cards")


def require_sensitive_consent(records: Iterable[ConsentRecord], at: datetime, fields: Iterable[str]) -> None:
    """``SENSITIVE_CONSENT_REQUIRED`` if sensitive ``fields`` are about to be collected at ``at``
    without an active separate consent to sensitive personal information (PIPL Art. 29)."""
    collected = sorted(set(fields))
    if collected and not has_consent(records, ConsentKind.SENSITIVE_PERSONAL_INFO, at):
        raise BusinessRuleError(
            f"{', '.join(collected)} are sensitive personal information: they are collected only after "
            f"the separate consent {ConsentKind.SENSITIVE_PERSONAL_INFO.value} is given",
            code="SENSITIVE_CONSENT_REQUIRED",
            fields=collected,
            missing=[ConsentKind.SENSITIVE_PERSONAL_INFO.value],
        )
