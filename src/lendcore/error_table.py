"""One table: every stable error code → its HTTP status and its CLI exit code.

The CLI (``error: … [CODE]`` and its exit status) and the HTTP API (RFC 9457 problems) both answer a
:class:`~lendcore.core.errors.LendcoreError` from here, so a code means the same thing everywhere.
Codes are grouped by family; a family fixes the status and exit code, and a few codes override the
status (e.g. a reused idempotency key is 422, as the IETF Idempotency-Key draft asks). A test scans
the sources and fails for a code raised anywhere but missing here.

Exit codes: 2 = refused, nothing changed (the caller can fix the request); 1 = could not be done
(a bug, an inconsistency, or a service that is down); 0 is success and never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from lendcore.core.errors import (
    BusinessRuleError,
    ConfigurationError,
    ConflictError,
    InvariantViolationError,
    LendcoreError,
    NotFoundError,
    ValidationError,
)

EXIT_REJECTED: Final = 2
EXIT_FAILED: Final = 1


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    http_status: int
    exit_code: int
    title: str  # the problem document's title: the family, in a few words


VALIDATION: Final = ErrorSpec(422, EXIT_REJECTED, "Invalid input")
BUSINESS_RULE: Final = ErrorSpec(409, EXIT_REJECTED, "Refused by a business rule")
NOT_FOUND: Final = ErrorSpec(404, EXIT_REJECTED, "Not found")
CONFLICT: Final = ErrorSpec(409, EXIT_REJECTED, "Conflict with the current state")
CONFIGURATION: Final = ErrorSpec(500, EXIT_REJECTED, "Invalid configuration")
INVARIANT: Final = ErrorSpec(500, EXIT_FAILED, "Internal inconsistency")
USAGE: Final = ErrorSpec(400, EXIT_REJECTED, "Bad request")
UNAVAILABLE: Final = ErrorSpec(503, EXIT_FAILED, "Service unavailable")
UNAUTHENTICATED: Final = ErrorSpec(401, EXIT_REJECTED, "Not authenticated")
FORBIDDEN: Final = ErrorSpec(403, EXIT_REJECTED, "Not allowed")
RATE_LIMITED: Final = ErrorSpec(429, EXIT_REJECTED, "Too many requests")
CHANNEL_FAILED: Final = ErrorSpec(502, EXIT_FAILED, "The payment channel failed")

_FAMILIES: Final[tuple[tuple[ErrorSpec, tuple[str, ...]], ...]] = (
    (
        VALIDATION,
        (
            "DISPUTE_CLAIM_REQUIRED",
            "INVALID_PARTNER_NAME",
            "RETENTION_POLICY_INVALID",
            "FUNDING_SHARES_INVALID",
            "DISPUTE_ANSWER_REQUIRED",
            "INVALID_DISPUTE_ACTION",
            "INVALID_INPUT",
            "INVALID_PROPOSAL_PAYLOAD",
            "INVALID_UNMASK_FIELD",
            "UNKNOWN_PROPOSAL_KIND",
            "CALLBACK_URL_INVALID",
            "INVALID_ACCOUNT_NUMBER",
            "INVALID_AUTOPAY_ATTEMPT",
            "INVALID_REMINDER_OFFSETS",
            "NOTIFY_SIM_INVALID",
            "ACCOUNT_DETAILS_INVALID",
            "ACCOUNT_VALIDITY_INVALID",
            "INVALID_CURSOR",
            "INVALID_DEADLINE_POLICY",
            "INVALID_DEDUPE_KEY",
            "INVALID_JOB_KIND",
            "INVALID_JOB_STATUS",
            "INVALID_MAX_ATTEMPTS",
            "INVALID_RESOLUTION",
            "INVALID_ROLE",
            "INVALID_SECRET",
            "INVALID_USERNAME",
            "ROLE_REQUIRED",
            "STATEMENT_EMPTY",
            "STATEMENT_INVALID",
            "STATEMENT_DATE_MISMATCH",
            "SUSPENSE_CONTRACT_REQUIRED",
            "SUSPENSE_REFERENCE_REQUIRED",
            "STATEMENT_DATE_NOT_PAST",
            "STATEMENT_FILE_UNREADABLE",
            "CHANNEL_NOT_CONFIGURED",
            "INVALID_FEATURE_VALUE",
            "BUSINESS_DATE_IN_FUTURE",
            "BUSINESS_DATE_OUT_OF_RANGE",
            "ACTOR_REQUIRED",
            "AMOUNT_NOT_POSITIVE",
            "AMOUNT_OUT_OF_RANGE",
            "AMOUNT_REQUIRED",
            "AMOUNT_TOO_LARGE",
            "APR_OUT_OF_RANGE",
            "BAD_VALUE_ABSENT",
            "BAD_VALUE_REQUIRED",
            "CONSENT_REVOKED_BEFORE_GRANT",
            "CONSENT_TEXT_VERSION_REQUIRED",
            "CONSENT_VERSION_UNKNOWN",
            "CONTRACTS_REQUIRED",
            "DATA_NOT_FOUND",
            "DATA_UNREADABLE",
            "DATE_OUT_OF_RANGE",
            "DECISION_RECORD_INVALID",
            "DUPLICATE_CONTRACT",
            "EBM_EXPORT",
            "EMPTY_DATA",
            "GRADE_REQUIRED",
            "FAULT_WINDOW_INVALID",
            "OUTAGE_RULE_INVALID",  # lendcore.core.outages
            "OUTCOMES_UNORDERED",
            "INVALID_AMOUNT",
            "INVALID_ARGUMENT",
            "INVALID_BAD_DPD",
            "INVALID_CASH_FLOWS",
            "INVALID_CONSENT_KIND",
            "INVALID_CONTRACT_COUNT",
            "INVALID_DATE",
            "INVALID_DATE_RANGE",
            "INVALID_EBM_CONFIG",
            "INVALID_FOLDS",
            "INVALID_FORM",
            "INVALID_ID",
            "INVALID_IDEMPOTENCY_KEY",
            "INVALID_INCOME",
            "INVALID_LIMIT",
            "INVALID_MARGIN",
            "INVALID_MODEL_KIND",
            "INVALID_REPAYMENT_MODE",
            "INVALID_MULTIPLE",
            "INVALID_PERFORMANCE_WINDOW",
            "INVALID_STATUS_MONTHS",
            "BUREAU_RECORD_INVALID",
            "INVALID_PURPOSE",
            "INVALID_RATE",
            "AS_OF_AFTER_BUSINESS_DATE",
            "OUTPUT_NOT_WRITABLE",
            "INVALID_RESTRUCTURE_KIND",
            "INVALID_RESTRUCTURE_PERIODS",
            "DATE_BEFORE_OFFER",
            "INVALID_REVIEW_ACTION",
            "INVALID_REVISION",
            "INVALID_SCALING",
            "INVALID_SCORE",
            "INVALID_TERM",
            "INVALID_TERMS",
            "INVALID_TIMELINE",
            "INVALID_WAIVER_KIND",
            "LIMIT_OUT_OF_RANGE",
            "MERCHANT_NOT_ALLOWED",
            "MERCHANT_REQUIRED",
            "METHOD_NOT_ALLOWED",
            "MONITOR_SOURCE",
            "NAIVE_TIMESTAMP",
            "NEGATIVE_AMOUNT",
            "NO_FEATURES",
            "NO_IRR",
            "NO_PREDICTIVE_FEATURES",
            "OUTPUT_UNWRITABLE",
            "PASSWORD_TOO_SHORT",
            "REASON_REQUIRED",
            "TARGET_NOT_BINARY",
            "TARGET_NOT_FOUND",
            "TERM_NOT_ALLOWED",
            "TOO_FEW_BADS",
            "TOO_FEW_GOODS",
            "UNKNOWN_GRADE",
            "UNKNOWN_TRANSACTION",
            "UNKNOWN_WATERFALL",
            "UNSUPPORTED_INTEREST_RULE",
            "VALUE_DATE_IN_FUTURE",
            "VALUE_DATE_NOT_ALLOWED",
            "ZERO_AMOUNT",
            "INVALID_SAMPLE_SIZE",
        ),
    ),
    (
        BUSINESS_RULE,
        (
            "DISPUTE_NOT_ALLOWED",
            "SCHEDULED_AFTER_DUE_DATE",
            "SCHEDULED_AMOUNT_TOO_LARGE",
            "SCHEDULED_DATE_NOT_FUTURE",
            "SCHEDULED_NO_INSTALLMENT",
            "SCHEDULED_NOTHING_DUE",
            "SCHEDULED_TOO_EARLY",
            "PARTNER_NAME_TAKEN",
            "PARTNER_NOT_ACTIVE",
            "ERASURE_BLOCKED_OPEN_CONTRACTS",
            "PROCESSING_RESTRICTED",
            "LENDER_SHARE_TOO_LOW",
            "PARTNER_CONCENTRATION_EXCEEDED",
            "BUSINESS_RULE",
            "ISSUE_ALREADY_RESOLVED",
            "SUSPENSE_ALREADY_CLEARED",
            "SUSPENSE_HOLDS_PAYMENT",
            "SUSPENSE_OTHER_CUSTOMER",
            "JOB_NOT_DEAD",
            "ALREADY_DISBURSED",
            "ALREADY_REVERSED",
            "APR_CAP_EXCEEDED",
            "BACKDATED",
            "CONSENT_ALREADY_REVOKED",
            "CONSENT_NOT_ACTIVE",
            "CONSENT_REQUIRED",
            "AUTOPAY_CONSENT_REQUIRED",
            "MANDATE_NOT_ACTIVE",
            "CONTRACT_CLOSED",
            "CONTRACT_NOT_ACTIVE",
            "CONTRACT_NOT_DISBURSED",
            "CONTRACT_NOT_OPEN",
            "CONTRACT_WRITTEN_OFF",
            "CUSTOMER_NOT_ACTIVE",
            "HARDSHIP_NOT_OFFERED",
            "HARDSHIP_OFFER_EXPIRED",
            "HARDSHIP_OFFER_STALE",
            "NOTHING_TO_RESTRUCTURE",
            "RESTRUCTURE_LIMIT_REACHED",
            "RESTRUCTURE_NOT_SUPPORTED",
            "RESTRUCTURE_PERIODS_EXCEEDED",
            "DISBURSEMENT_AMOUNT_MISMATCH",
            "DISBURSEMENT_DATE_MISMATCH",
            "DUPLICATE_TRANSACTION",
            "INSUFFICIENT_CREDIT",
            "INSUFFICIENT_FOR_PAYOFF",
            "LIMIT_BELOW_OUTSTANDING",
            "LIMIT_EXCEEDED",
            "LINE_ALREADY_OPEN",
            "LINE_CLOSED",
            "LINE_HAS_OUTSTANDING",
            "LINE_NOT_ACTIVE",
            "MAKER_CHECKER_VIOLATION",
            "NOTHING_TO_PAY",
            "NOTHING_TO_WAIVE",
            "NOT_WRITTEN_OFF",
            "OVERPAYMENT_TOO_LARGE",
            "OVERRIDE_NOT_PROPOSED",
            "PAYMENT_ALREADY_REVERSED",
            "PAYMENT_NOT_REVERSIBLE",
            "PAYMENT_STATE_INVALID",
            "PURPOSE_NOT_ALLOWED",
            "REVERSAL_NEEDS_BOOK",
            "REVERSAL_NOT_ALLOWED",
            "REVIEWER_IS_REQUESTER",
            "REVIEW_ALREADY_OPEN",
            "REVIEW_ALREADY_RESOLVED",
            "SENSITIVE_CONSENT_REQUIRED",
            "WAIVER_EXCEEDS_OUTSTANDING",
            "WRITE_OFF_NOT_ELIGIBLE",
            "BUSINESS_DATE_MISMATCH",
            "DATE_BEFORE_CONTRACT_START",
            "DATE_BEFORE_LINE_OPENED",
            "DATE_BEFORE_WRITE_OFF",
            "DEMO_NEEDS_FRESH_DATABASE",
            "REVERSAL_BEFORE_PAYMENT",
            "DRAWDOWN_DECLINED",
            "DRAWDOWN_FAILED",
            "DRAWDOWN_PROCESSING",
            "DISBURSEMENT_FAILED",
            "PAYMENT_FAILED",
            "CARD_LIMIT_REACHED",
            "CARD_HAS_ACTIVE_MANDATE",
            "CARD_LAST_ACTIVE",
            "DECISION_UNCHANGED",
        ),
    ),
    (
        NOT_FOUND,
        (
            "BUREAU_RECORD_NOT_FOUND",
            "PARTNER_NOT_FOUND",
            "DISPUTE_NOT_FOUND",
            "SCHEDULED_NOT_FOUND",
            "ISSUE_NOT_FOUND",
            "SUSPENSE_NOT_FOUND",
            "PROPOSAL_NOT_FOUND",
            "CLOSE_NOT_FOUND",
            "STAFF_USER_NOT_FOUND",
            "JOB_NOT_FOUND",
            "CONTRACT_NOT_FOUND",
            "CUSTOMER_NOT_FOUND",
            "HARDSHIP_OFFER_NOT_FOUND",
            "MANDATE_NOT_FOUND",
            "CARD_NOT_FOUND",
            "DECISION_NOT_FOUND",
            "LINE_NOT_FOUND",
            "NOT_FOUND",
            "PAYMENT_NOT_FOUND",
            "PAYMENT_UNKNOWN_TO_CHANNEL",
            "REVERSAL_TARGET_NOT_FOUND",
            "REVIEW_NOT_FOUND",
            "UNKNOWN_PRODUCT",
        ),
    ),
    (
        CONFLICT,
        (
            "DISPUTE_ALREADY_OPEN",
            "SCHEDULED_ALREADY_BOOKED",
            "SCHEDULED_NOT_CANCELLABLE",
            "DISPUTE_ALREADY_ANSWERED",
            "CONFLICT",
            "ACCOUNT_ALREADY_REGISTERED",
            "MANDATE_EXISTS",
            "HARDSHIP_OFFER_DECIDED",
            "HARDSHIP_OFFER_OPEN",
            "PROPOSAL_ALREADY_DECIDED",
            "PROPOSAL_EXPIRED",
            "USERNAME_TAKEN",
            "ALREADY_BLACKLISTED",
            "ACCRUAL_ALREADY_BOOKED",
            "CLOSE_LEASE_LOST",
            "CLOSE_OUT_OF_ORDER",
            "CLOSE_IN_PROGRESS",
            "SEED_DATABASE_NOT_EMPTY",
            "CONCURRENT_UPDATE",
            "DUPLICATE_CARD",
            "DUPLICATE_ID_NUMBER",
            "DUPLICATE_PHONE",
            "IDEMPOTENCY_KEY_IN_PROGRESS",
            "IDEMPOTENCY_KEY_REUSED",
            "BUREAU_BATCH_EXISTS",
            "PII_REINDEX_DUPLICATE",
            "CARD_ALREADY_BOUND",
        ),
    ),
    (
        CONFIGURATION,
        (
            "INVALID_CONFIGURATION",
            "INVALID_SWEEP_LIMITS",
            "INVALID_RATE_LIMIT",
            "JWT_SECRET_INVALID",
            "CONSENT_TEXT_ALTERED",
            "DATABASE_DIRECTORY_MISSING",
            "INVALID_CLASSIFICATION_THRESHOLDS",
            "BUREAU_CATALOGUE_INVALID",
            "INVALID_CONSENT_TEXTS",
            "INVALID_DATABASE_URL",
            "INVALID_LOAN_TERMS",
            "MODEL_AMBIGUOUS",
            "PII_HMAC_KEY_CHANGED",
            "PII_HMAC_KEY_INVALID",
            "PII_HMAC_KEY_MISSING",
            "PII_KEYRING_INVALID",
            "PRODUCT_APR_CAP_EXCEEDED",
            "PRODUCT_DUPLICATE",
            "PRODUCT_FIELD_INVALID",
            "PRODUCT_FIELD_MISSING",
            "PRODUCT_FILE_INVALID",
            "SHARD_KEY_MISSING",
            "SHARD_MAP_INVALID",
            "PRODUCT_PRICING_GAP",
            "REPLAY_VERSION_MISMATCH",
            "SCORECARD_NO_DEV_DISTRIBUTION",
            "STRATEGY_INVALID",
            "STRATEGY_NOT_FOUND",
            "UNKNOWN_REVISION",
            # model artefacts (scorecard and EBM files) that cannot be loaded
            "SCORECARD_BAD_BINS",
            "SCORECARD_DUPLICATE_FEATURE",
            "SCORECARD_INVALID_FIELD",
            "SCORECARD_MALFORMED",
            "SCORECARD_NOT_FOUND",
            "SCORECARD_UNSUPPORTED_FORMAT",
            "EBM_BAD_BINS",
            "EBM_BAD_TERM",
            "EBM_DUPLICATE_FEATURE",
            "EBM_INVALID_FIELD",
            "EBM_MALFORMED",
            "EBM_NOT_FOUND",
            "EBM_UNSUPPORTED_FORMAT",
        ),
    ),
    (
        INVARIANT,
        (
            "INVARIANT_VIOLATION",
            "PARTNER_LEDGER_MISMATCH",
            "SEED_ORPHAN_ROW",
            "LENDCORE_ERROR",
            "BAD_TRANSACTION_ROW",
            "CONTRACT_NOT_LOCKED",
            "EMPTY_ENTRY",
            "LEDGER_INCONSISTENT",
            "NEGATIVE_POSTING",
            "NO_SUCH_INSTALLMENT",
            "PII_BLOB_MALFORMED",
            "PII_DECRYPT_FAILED",
            "PII_KEY_UNKNOWN",
            "REPLAY_MISMATCH",
            "REVERSAL_NOT_CONVERGING",
            "SUBLEDGER_MISMATCH",
            "UNBALANCED_ENTRY",
            "UNHANDLED_TRANSACTION",
        ),
    ),
    (
        USAGE,  # the command line's own parser errors
        (
            "MISSING_OPTION",
            "MISSING_ARGUMENT",
            "UNKNOWN_OPTION",
            "OPTION_NEEDS_VALUE",
            "OPTION_TAKES_NO_VALUE",
            "OPTION_MISUSED",
            "UNEXPECTED_ARGUMENT",
            "UNKNOWN_COMMAND",
            "MISSING_COMMAND",
            "BAD_REQUEST",
            "IDEMPOTENCY_KEY_REQUIRED",
            "INVALID_BODY",
            "USAGE_ERROR",
            "UNKNOWN_FIELD",
            "FIELD_REQUIRED",
        ),
    ),
    (UNAVAILABLE, ("DATABASE_UNAVAILABLE", "SERVICE_UNAVAILABLE", "SCHEMA_NOT_AT_HEAD")),
    (
        UNAUTHENTICATED,
        (
            "AUTHENTICATION_REQUIRED",
            "INVALID_CREDENTIALS",
            "OTP_INVALID",
            "REFRESH_TOKEN_INVALID",
            "REFRESH_TOKEN_REUSED",
            "TOKEN_EXPIRED",
            "TOKEN_INVALID",
            # signed channel callbacks refused at the edge
            "CALLBACK_MALFORMED",
            "CALLBACK_SECRET_NOT_CONFIGURED",
            "CALLBACK_SIGNATURE_INVALID",
            "CALLBACK_SIGNATURE_MISSING",
            "CALLBACK_TIMESTAMP_INVALID",
            "CALLBACK_TIMESTAMP_OUT_OF_TOLERANCE",
            "CALLBACK_REJECTED",
        ),
    ),
    (FORBIDDEN, ("PERMISSION_DENIED", "CUSTOMERS_ONLY", "SELF_APPROVAL", "CSRF_TOKEN_INVALID")),
    (RATE_LIMITED, ("RATE_LIMITED", "OTP_RESEND_TOO_SOON")),
    (
        CHANNEL_FAILED,
        (
            "CHANNEL_ERROR",
            "CHANNEL_UNAVAILABLE",
            "CHANNEL_TIMEOUT",
            "CHANNEL_REJECTED",
            "CHANNEL_SERVER_ERROR",
        ),
    ),
)

#: Codes whose HTTP status differs from their family's (the exit code stays the family's).
_STATUS_OVERRIDES: Final[Mapping[str, int]] = {
    "IDEMPOTENCY_KEY_REUSED": 422,  # IETF Idempotency-Key draft: same key, different request
    "INVALID_IDEMPOTENCY_KEY": 400,
}


def _build() -> dict[str, ErrorSpec]:
    table: dict[str, ErrorSpec] = {}
    for spec, codes in _FAMILIES:
        for code in codes:
            if code in table:
                raise ValueError(f"error code {code} is listed twice")
            status = _STATUS_OVERRIDES.get(code, spec.http_status)
            table[code] = (
                ErrorSpec(status, spec.exit_code, spec.title) if status != spec.http_status else spec
            )
    return table


#: Every code and what it maps to.
ERRORS: Final[Mapping[str, ErrorSpec]] = _build()

_BY_CLASS: Final[Mapping[type[LendcoreError], ErrorSpec]] = {
    ValidationError: VALIDATION,
    BusinessRuleError: BUSINESS_RULE,
    NotFoundError: NOT_FOUND,
    ConflictError: CONFLICT,
    ConfigurationError: CONFIGURATION,
    InvariantViolationError: INVARIANT,
}


def spec_for(error: LendcoreError) -> ErrorSpec:
    """The spec of ``error``'s code; a code not in the table (a bug the table test catches) falls
    back on its exception class's family."""
    spec = ERRORS.get(error.code)
    if spec is not None:
        return spec
    if error.code.startswith("INVALID_"):  # per-field form codes (INVALID_<FIELD>) are validation
        return VALIDATION
    family = _BY_CLASS.get(type(error))
    if family is not None:
        return family
    status = type(error).http_status  # a subclass (API, channel, callbacks): its declared status
    return ErrorSpec(status, EXIT_REJECTED if status < 500 else EXIT_FAILED, "Error")
