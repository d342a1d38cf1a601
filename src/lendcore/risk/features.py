"""The application form and the model features built from it (German-credit scorecard schema).

The default scorecard is trained on the German credit data set, so every model input is one of its
20 columns. :func:`build_features` fills each from the form (declared by the applicant), the resident
ID (age, sex) and our own history (:class:`~lendcore.risk.rules.ApplicationContext`):

=========================================================  ==============================================
feature                                                    source
=========================================================  ==============================================
status_of_existing_checking_account                        declared :class:`AccountStanding`
duration_in_month                                          requested term (months)
credit_history                                             our history + credits elsewhere (declared/bureau)
purpose                                                    declared :class:`LoanPurpose`
credit_amount                                              requested yuan × ``amount_scale`` (→ 1994 DM)
savings_account_and_bonds                                  declared savings (yuan bands)
present_employment_since                                   declared years with current employer
installment_rate_in_percentage_of_disposable_income        est. installment / monthly income → 1..4
personal_status_and_sex                                    sex (ID digit 17) + marital status: *sensitive*
other_debtors_or_guarantors                                always ``none`` (no guarantors on our products)
present_residence_since                                    declared years at address → 1..4
property                                                   declared :class:`PropertyKind`
age_in_years                                               ID birth date and the business date
other_installment_plans                                    declared :class:`OtherInstallments`
housing                                                    declared :class:`Housing`
number_of_existing_credits_at_this_bank                    1 + active contracts with us (max 4)
job                                                        declared :class:`Occupation`
number_of_people_being_liable_to_provide_maintenance_for   declared dependents (≤1 → 1, else 2)
telephone                                                  phone verified in the applicant's own name
foreign_worker                                             *sensitive*; mainland residents → ``no``
=========================================================  ==============================================

*Sensitive* features (sex/marital status, national origin) are emitted as missing (``None``) unless
``FeatureConfig.include_sensitive`` is set: lending decisions should not turn on them (fairness,
PIPL Art. 24/28), and the scorecard scores a missing value with its ``missing_points``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from lendcore.core.errors import ValidationError
from lendcore.core.identity import Sex
from lendcore.core.money import MAX_AMOUNT, Fen, format_fen
from lendcore.risk.rules import ApplicationContext

FeatureValue = float | int | str | None


class AccountStanding(StrEnum):
    NO_ACCOUNT = "no_account"
    OVERDRAWN = "overdrawn"
    LOW_BALANCE = "low_balance"  # 0 <= balance < 2,000 yuan
    SALARY_OR_HIGH = "salary_or_high"  # salary paid in for ≥ 1 year, or balance ≥ 2,000 yuan


class LoanPurpose(StrEnum):
    ELECTRONICS = "electronics"  # phones, TVs, computers
    FURNITURE = "furniture"
    APPLIANCES = "appliances"
    CAR_NEW = "car_new"
    CAR_USED = "car_used"
    EDUCATION = "education"
    TRAINING = "training"
    HOME_REPAIR = "home_repair"
    BUSINESS = "business"
    TRAVEL = "travel"
    MEDICAL = "medical"
    OTHER = "other"


class Occupation(StrEnum):
    UNEMPLOYED = "unemployed"
    UNSKILLED = "unskilled"
    SKILLED = "skilled"
    MANAGEMENT_OR_SELF_EMPLOYED = "management_or_self_employed"


class Housing(StrEnum):
    OWN = "own"
    RENT = "rent"
    FREE = "free"  # with family, employer dormitory


class PropertyKind(StrEnum):
    REAL_ESTATE = "real_estate"
    INSURANCE_OR_SAVINGS_PLAN = "insurance_or_savings_plan"
    CAR_OR_OTHER = "car_or_other"
    NONE = "none"


class OtherInstallments(StrEnum):
    NONE = "none"
    BANK = "bank"
    STORES = "stores"  # store / consumer-finance installments (花呗, 白条 …)


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    DIVORCED = "divorced"
    WIDOWED = "widowed"


@dataclass(frozen=True, slots=True)
class Application:
    """The credit-line application form (申请表), as the applicant submitted it. Money in fen."""

    application_id: str
    product_code: str
    requested_amount: Fen
    term_months: int
    purpose: LoanPurpose
    monthly_income: Fen
    monthly_debt_payments: Fen = 0
    account_standing: AccountStanding = AccountStanding.LOW_BALANCE
    savings: Fen | None = None  # None: not declared
    employment_years: int | None = None  # None with UNEMPLOYED
    occupation: Occupation = Occupation.SKILLED
    housing: Housing = Housing.RENT
    property: PropertyKind = PropertyKind.NONE
    other_installment_plans: OtherInstallments = OtherInstallments.NONE
    years_at_address: int | None = None
    dependents: int = 0
    marital_status: MaritalStatus | None = None

    def __post_init__(self) -> None:
        if self.requested_amount <= 0:
            raise ValidationError("requested amount must be positive", code="INVALID_AMOUNT")
        if not 1 <= self.term_months <= 60:
            raise ValidationError("term must be 1-60 months", code="INVALID_TERM")
        if self.monthly_income < 0 or self.monthly_debt_payments < 0:
            raise ValidationError("income and debt payments cannot be negative", code="INVALID_INCOME")


# --- what a form may say (checked at the edge: origination.applications.parse_form) ----------------

#: The highest monthly income (and monthly debt payments) a form may declare: ¥10,000,000.00.
MAX_MONTHLY_INCOME: Final[Fen] = 10_000_000_00
#: Inclusive bounds of the numeric form fields, and which of them are money (fen).
FIELD_BOUNDS: Final[Mapping[str, tuple[int, int]]] = {
    "requested_amount": (1, MAX_AMOUNT),
    "term_months": (1, 60),
    "monthly_income": (0, MAX_MONTHLY_INCOME),
    "monthly_debt_payments": (0, MAX_MONTHLY_INCOME),
    "savings": (0, MAX_AMOUNT),
    "employment_years": (0, 60),
    "years_at_address": (0, 100),
    "dependents": (0, 20),
}
MONEY_FIELDS: Final = frozenset({"requested_amount", "monthly_income", "monthly_debt_payments", "savings"})


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad form field: its name, its own stable code (``INVALID_<FIELD>``), what is wrong."""

    field: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


def field_code(name: str) -> str:
    """The stable code of a form field's refusal: ``employment_years`` → ``INVALID_EMPLOYMENT_YEARS``."""
    return f"INVALID_{name.upper()}"


def enum_error(name: str, kind: type[StrEnum], value: object) -> FieldError:
    allowed = ", ".join(m.value for m in kind)
    return FieldError(name, field_code(name), f"must be one of {allowed}; got {_shown(value)}")


def range_errors(values: Mapping[str, Any]) -> list[FieldError]:
    """The numeric fields of ``values`` outside :data:`FIELD_BOUNDS` (``None`` = not declared)."""
    errors = []
    for name, (low, high) in FIELD_BOUNDS.items():
        value = values.get(name)
        if value is None or low <= value <= high:
            continue
        shown = format_fen if name in MONEY_FIELDS else str
        got = shown(value) if abs(value) < 10**30 else ("-" if value < 0 else "") + "more than 10^30"
        message = f"must be between {shown(low)} and {shown(high)}; got {got}"
        errors.append(FieldError(name, field_code(name), message))
    return errors


def form_error(errors: Sequence[FieldError]) -> ValidationError:
    """One refusal for the bad fields: the field's own code when one field is bad, else
    ``INVALID_FORM``; ``details["errors"]`` lists every field with its code either way."""
    message = "; ".join(f"{e.field}: {e.message}" for e in errors)
    code = errors[0].code if len(errors) == 1 else "INVALID_FORM"
    return ValidationError(message, code=code, errors=[e.to_dict() for e in errors])


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a very long number"
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Deutsche Mark per yuan. The shipped model learned ``credit_amount`` in 1994 DM (German credit data);
#: at 1994 exchange rates (USD/CNY 8.62, USD/DM 1.62) one DM is ¥5.32, so a yuan is 0.188 DM. Without
#: the conversion a ¥3,000 request would look to the model like a 3,000 DM loan, above the German
#: median (2,320 DM), and every applicant would be scored as a large borrower.
YUAN_TO_MODEL_AMOUNT: Final = Decimal("0.188")


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    amount_scale: Decimal = YUAN_TO_MODEL_AMOUNT  # model credit_amount units per yuan
    include_sensitive: bool = False


_CHECKING: Final = {
    AccountStanding.NO_ACCOUNT: "no checking account",
    AccountStanding.OVERDRAWN: "... < 0 DM",
    AccountStanding.LOW_BALANCE: "0 <= ... < 200 DM",
    AccountStanding.SALARY_OR_HIGH: "... >= 200 DM / salary assignments for at least 1 year",
}
_PURPOSE: Final = {
    LoanPurpose.ELECTRONICS: "radio/television",
    LoanPurpose.FURNITURE: "furniture/equipment",
    LoanPurpose.APPLIANCES: "domestic appliances",
    LoanPurpose.CAR_NEW: "car (new)",
    LoanPurpose.CAR_USED: "car (used)",
    LoanPurpose.EDUCATION: "education",
    LoanPurpose.TRAINING: "retraining",
    LoanPurpose.HOME_REPAIR: "repairs",
    LoanPurpose.BUSINESS: "business",
    LoanPurpose.TRAVEL: "others",
    LoanPurpose.MEDICAL: "others",
    LoanPurpose.OTHER: "others",
}
_JOB: Final = {
    Occupation.UNEMPLOYED: "unemployed/ unskilled - non-resident",
    Occupation.UNSKILLED: "unskilled - resident",
    Occupation.SKILLED: "skilled employee / official",
    Occupation.MANAGEMENT_OR_SELF_EMPLOYED: "management/ self-employed/ highly qualified employee/ officer",
}
_HOUSING: Final = {Housing.OWN: "own", Housing.RENT: "rent", Housing.FREE: "for free"}
_PROPERTY: Final = {
    PropertyKind.REAL_ESTATE: "real estate",
    PropertyKind.INSURANCE_OR_SAVINGS_PLAN: "building society savings agreement/ life insurance",
    PropertyKind.CAR_OR_OTHER: "car or other, not in attribute Savings account/bonds",
    PropertyKind.NONE: "unknown / no property",
}
_OTHER_PLANS: Final = {
    OtherInstallments.NONE: "none",
    OtherInstallments.BANK: "bank",
    OtherInstallments.STORES: "stores",
}


def _savings(savings: Fen | None) -> str:
    if savings is None:
        return "unknown/ no savings account"
    yuan = savings // 100
    if yuan < 1_000:
        return "... < 100 DM"
    if yuan < 5_000:
        return "100 <= ... < 500 DM"
    if yuan < 10_000:
        return "500 <= ... < 1000 DM"
    return "... >= 1000 DM"


def _employment(app: Application) -> str | None:
    if app.occupation is Occupation.UNEMPLOYED:
        return "unemployed"
    if app.employment_years is None:
        return None
    y = app.employment_years
    if y < 1:
        return "... < 1 year"
    if y < 4:
        return "1 <= ... < 4 years"
    if y < 7:
        return "4 <= ... < 7 years"
    return "... >= 7 years"


def _credit_history(ctx: ApplicationContext) -> str:
    if ctx.max_days_past_due_ever_with_us > 0:
        return "delay in paying off in the past"
    if ctx.repaid_contracts_with_us > 0 and ctx.active_contracts_with_us == 0:
        return "all credits at this bank paid back duly"
    if ctx.has_credits_elsewhere:
        return "critical account/ other credits existing (not at this bank)"
    if ctx.repaid_contracts_with_us > 0 or ctx.active_contracts_with_us > 0:
        return "existing credits paid back duly till now"
    return "no credits taken/ all credits paid back duly"


def _installment_rate(app: Application) -> int:
    """Share of monthly income the new installment (principal / term) takes: 1 (≤10%) … 4 (>35%)."""
    if app.monthly_income <= 0:
        return 4
    share = Decimal(app.requested_amount) / app.term_months / app.monthly_income
    if share <= Decimal("0.10"):
        return 1
    if share <= Decimal("0.20"):
        return 2
    if share <= Decimal("0.35"):
        return 3
    return 4


def _residence(years: int | None) -> int | None:
    if years is None:
        return None
    return 1 if years < 1 else 2 if years < 2 else 3 if years < 4 else 4


def _personal_status(sex: Sex | None, status: MaritalStatus | None) -> str | None:
    if sex is None or status is None:
        return None
    if sex is Sex.FEMALE:
        return "female : divorced/separated/married"
    if status is MaritalStatus.SINGLE:
        return "male : single"
    if status is MaritalStatus.DIVORCED:
        return "male : divorced/separated"
    return "male : married/widowed"


def build_features(
    app: Application, ctx: ApplicationContext, config: FeatureConfig = FeatureConfig()
) -> dict[str, FeatureValue]:
    """The 20 German-credit features for this application, in the data set's column order."""
    sensitive = config.include_sensitive
    return {
        "status_of_existing_checking_account": _CHECKING[app.account_standing],
        "duration_in_month": app.term_months,
        "credit_history": _credit_history(ctx),
        "purpose": _PURPOSE[app.purpose],
        "credit_amount": float(Decimal(app.requested_amount) / 100 * config.amount_scale),
        "savings_account_and_bonds": _savings(app.savings),
        "present_employment_since": _employment(app),
        "installment_rate_in_percentage_of_disposable_income": _installment_rate(app),
        "personal_status_and_sex": _personal_status(ctx.sex, app.marital_status) if sensitive else None,
        "other_debtors_or_guarantors": "none",
        "present_residence_since": _residence(app.years_at_address),
        "property": _PROPERTY[app.property],
        "age_in_years": ctx.applicant_age,
        "other_installment_plans": _OTHER_PLANS[app.other_installment_plans],
        "housing": _HOUSING[app.housing],
        "number_of_existing_credits_at_this_bank": min(4, 1 + ctx.active_contracts_with_us),
        "job": _JOB[app.occupation],
        "number_of_people_being_liable_to_provide_maintenance_for": 1 if app.dependents <= 1 else 2,
        "telephone": "yes, registered under the customers name" if ctx.phone_real_name_verified else "none",
        "foreign_worker": "no" if sensitive else None,
    }
