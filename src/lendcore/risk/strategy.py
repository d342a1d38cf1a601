"""Credit strategy: grade, limit and price from the score, as editable GoRules decision tables.

A strategy file (``risk/strategy/*.json``) is a GoRules JDM decision graph evaluated with zen-engine,
plus a ``lendcore`` block with its id, version and limit bounds::

    "lendcore": {"strategy_id": "champion", "version": "2025.11-1",
                 "limits": {"min_yuan": 500, "max_yuan": 50000, "step_yuan": 100}}

The graph receives ``{score, probability_bad, is_new_customer, bureau_authorised, term_months}`` and
must return ``grade`` (A–E), ``decline`` (bool) and ``limit.{base_yuan, income_multiple, max_dti,
capacity_months, uplift}`` (decimals as strings). Python then computes (all in fen, exact):

* limit = min(base × uplift, income × income_multiple, (income × max_dti − debts) × capacity_months),
  floored to ``step_yuan``; below ``min_yuan`` → decline ``INSUFFICIENT_INCOME``; capped at ``max_yuan``;
* daily rate from the product's pricing table (:class:`PriceBand` rows, passed in as data: this module
  does not import the product catalog) by grade and tenor; none → decline ``PRICING_UNAVAILABLE``;
* APR via ``apr_fn(daily_rate, term_months)`` (default :func:`simple_annual_rate`, daily × 365, which
  equals the IRR APR when interest accrues on the outstanding principal by actual days and there are no
  fees; pass an IRR function when the product charges fees); above the cap (24%) → ``PRICE_ABOVE_CAP``.

Evaluation uses ``ZenEngine.evaluate`` with a static loader over the preloaded JSON (≈15–20 µs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Final

import zen

from lendcore.core.errors import ConfigurationError
from lendcore.core.money import Fen

GRADES: Final = ("A", "B", "C", "D", "E")
DEFAULT_APR_CAP: Final = Decimal("0.24")
DAYS_PER_YEAR: Final = 365

GRADE_DECLINED: Final = "GRADE_DECLINED"
INSUFFICIENT_INCOME: Final = "INSUFFICIENT_INCOME"
PRICING_UNAVAILABLE: Final = "PRICING_UNAVAILABLE"
PRICE_ABOVE_CAP: Final = "PRICE_ABOVE_CAP"

AprFunction = Callable[[Decimal, int], Decimal]


def simple_annual_rate(daily_rate: Decimal, term_months: int) -> Decimal:
    """Daily rate × 365 (the nominal IRR APR for actual-day interest without fees)."""
    return daily_rate * DAYS_PER_YEAR


@dataclass(frozen=True, slots=True)
class PriceBand:
    """One row of a product's pricing table: ``grade`` (or ``*``) up to ``max_term_months``."""

    max_term_months: int
    daily_rate: Decimal
    grade: str = "*"


def price_for(pricing: Sequence[PriceBand], grade: str, term_months: int) -> Decimal | None:
    """Daily rate for ``grade`` and ``term``: the grade's own rows first, else ``*`` rows; the row with
    the smallest ``max_term_months`` ≥ term. None if no row fits."""
    for wanted in (grade, "*"):
        rows = sorted((b for b in pricing if b.grade == wanted), key=lambda b: b.max_term_months)
        for row in rows:
            if term_months <= row.max_term_months:
                return row.daily_rate
        if rows:
            return None
    return None


#: Example pricing (PRODUCT.md 快贷 defaults by tenor, adjusted by grade). Products supply their own.
DEFAULT_PRICING: Final[tuple[PriceBand, ...]] = tuple(
    PriceBand(term, Decimal(rate), grade)
    for grade, rates in {
        "A": ("0.0002", "0.00025", "0.0003"),
        "B": ("0.0003", "0.00035", "0.0004"),
        "C": ("0.0003", "0.0004", "0.0005"),
        "D": ("0.0005", "0.0006", "0.00065"),
        "E": ("0.0007", "0.0007", "0.0007"),
    }.items()
    for term, rate in zip((3, 6, 36), rates, strict=True)
)


@dataclass(frozen=True, slots=True)
class StrategyInput:
    score: int
    probability_bad: float
    term_months: int
    monthly_income: Fen
    monthly_debt_payments: Fen
    is_new_customer: bool
    bureau_authorised: bool


@dataclass(frozen=True, slots=True)
class StrategyResult:
    strategy_id: str
    version: str
    approved: bool
    grade: str
    limit: Fen | None
    daily_rate: Decimal | None
    apr: Decimal | None
    reason_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LimitBounds:
    min_limit: Fen = 500_00
    max_limit: Fen = 50_000_00
    step: Fen = 100_00


class Strategy:
    """A loaded strategy file with a warm zen engine."""

    __slots__ = ("_engine", "bounds", "content_sha256", "source", "strategy_id", "version")

    def __init__(self, content: bytes, source: str = "<memory>") -> None:
        try:
            doc = json.loads(content)
            meta = doc["lendcore"]
            self.strategy_id: str = str(meta["strategy_id"])
            self.version: str = str(meta["version"])
            limits = meta.get("limits", {})
            self.bounds = LimitBounds(
                int(limits.get("min_yuan", 500)) * 100,
                int(limits.get("max_yuan", 50_000)) * 100,
                int(limits.get("step_yuan", 100)) * 100,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"strategy {source}: {exc}", code="STRATEGY_INVALID") from None
        if not 0 < self.bounds.min_limit <= self.bounds.max_limit or self.bounds.step <= 0:
            raise ConfigurationError(f"strategy {source}: bad limits", code="STRATEGY_INVALID")
        self.source = source
        self.content_sha256 = hashlib.sha256(content).hexdigest()
        decision = zen.ZenDecisionContent(content.decode("utf-8"))
        self._engine = zen.ZenEngine({"loader": lambda _key: decision})
        # Fail at load, not mid-request: evaluate once with a neutral input.
        self._evaluate_table(StrategyInput(600, 0.1, 12, 10_000_00, 0, True, False))

    @classmethod
    def load(cls, path: str | Path) -> Strategy:
        p = Path(path)
        try:
            return cls(p.read_bytes(), str(p))
        except OSError as exc:
            raise ConfigurationError(f"cannot read strategy {p}: {exc}", code="STRATEGY_NOT_FOUND") from None

    @classmethod
    def packaged(cls, name: str) -> Strategy:
        """A strategy shipped in ``lendcore/risk/strategy/NAME.json``."""
        ref = resources.files("lendcore").joinpath(f"risk/strategy/{name}.json")
        try:
            return cls(ref.read_bytes(), f"lendcore/risk/strategy/{name}.json")
        except OSError:
            raise ConfigurationError(f"no packaged strategy {name!r}", code="STRATEGY_NOT_FOUND") from None

    def _evaluate_table(self, inp: StrategyInput) -> Mapping[str, Any]:
        ctx = {
            "score": inp.score,
            "probability_bad": inp.probability_bad,
            "term_months": inp.term_months,
            "is_new_customer": inp.is_new_customer,
            "bureau_authorised": inp.bureau_authorised,
        }
        try:
            out = self._engine.evaluate(self.strategy_id, ctx)["result"]
            grade = out["grade"]
            limit = out["limit"]
            for k in ("base_yuan", "income_multiple", "max_dti", "capacity_months", "uplift"):
                Decimal(str(limit[k]))
        except (RuntimeError, KeyError, TypeError, InvalidOperation) as exc:
            raise ConfigurationError(
                f"strategy {self.source} returned an unusable result: {exc}", code="STRATEGY_INVALID"
            ) from None
        if grade not in GRADES:
            raise ConfigurationError(
                f"strategy {self.source}: unknown grade {grade!r}", code="STRATEGY_INVALID"
            )
        return dict(out)

    def evaluate(
        self,
        inp: StrategyInput,
        pricing: Sequence[PriceBand],
        *,
        apr_fn: AprFunction = simple_annual_rate,
        apr_cap: Decimal = DEFAULT_APR_CAP,
    ) -> StrategyResult:
        out = self._evaluate_table(inp)
        grade: str = out["grade"]
        reasons: list[str] = []
        if out.get("decline"):
            reasons.append(GRADE_DECLINED)
        lim = out["limit"]
        limit = self.compute_limit(
            inp,
            base_yuan=Decimal(str(lim["base_yuan"])),
            income_multiple=Decimal(str(lim["income_multiple"])),
            max_dti=Decimal(str(lim["max_dti"])),
            capacity_months=Decimal(str(lim["capacity_months"])),
            uplift=Decimal(str(lim["uplift"])),
        )
        if not reasons and limit is None:
            reasons.append(INSUFFICIENT_INCOME)
        rate = price_for(pricing, grade, inp.term_months)
        apr = None if rate is None else apr_fn(rate, inp.term_months)
        if not reasons:
            if rate is None:
                reasons.append(PRICING_UNAVAILABLE)
            elif apr is not None and apr > apr_cap:
                reasons.append(PRICE_ABOVE_CAP)
        approved = not reasons
        return StrategyResult(
            self.strategy_id,
            self.version,
            approved,
            grade,
            limit if approved else None,
            rate if approved else None,
            apr if approved else None,
            tuple(reasons),
        )

    def compute_limit(
        self,
        inp: StrategyInput,
        *,
        base_yuan: Decimal,
        income_multiple: Decimal,
        max_dti: Decimal,
        capacity_months: Decimal,
        uplift: Decimal,
    ) -> Fen | None:
        """The credit limit in fen, or None when it would fall below the minimum."""
        base = base_yuan * 100 * uplift
        income_cap = Decimal(inp.monthly_income) * income_multiple
        dti_cap = (Decimal(inp.monthly_income) * max_dti - inp.monthly_debt_payments) * capacity_months
        raw = min(base, income_cap, dti_cap)
        if raw <= 0:
            return None
        step = self.bounds.step
        floored = int((raw / step).to_integral_value(rounding=ROUND_FLOOR)) * step
        if floored < self.bounds.min_limit:
            return None
        return min(floored, self.bounds.max_limit)


@dataclass(frozen=True, slots=True)
class StrategySet:
    """The champion (acted on) and an optional challenger scored on ``challenger_share`` of traffic."""

    champion: Strategy
    challenger: Strategy | None = None
    challenger_share: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.challenger_share <= Decimal(1):
            raise ConfigurationError("challenger share must be within [0, 1]", code="STRATEGY_INVALID")

    def get(self, strategy_id: str, version: str) -> Strategy | None:
        for s in (self.champion, self.challenger):
            if s is not None and s.strategy_id == strategy_id and s.version == version:
                return s
        return None


def in_challenger_sample(application_id: str, share: Decimal) -> bool:
    """Deterministic traffic split: SHA-256 of the application id, first 8 bytes as a fraction < share."""
    if share <= 0:
        return False
    bucket = int.from_bytes(hashlib.sha256(application_id.encode("utf-8")).digest()[:8], "big")
    return Decimal(bucket) / Decimal(2**64) < share


def default_strategies(challenger_share: Decimal = Decimal("0.1")) -> StrategySet:
    """The shipped champion (``champion.json``) and challenger (``challenger.json``)."""
    return StrategySet(Strategy.packaged("champion"), Strategy.packaged("challenger"), challenger_share)
