"""Shared builders for origination tests: valid identities, a deterministic scorer, a world."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from lendcore.core.consent import ConsentKind
from lendcore.core.identity import CardInput, OnboardingRequest, id_check_char, luhn_check_digit
from lendcore.origination.applications import ApplicationRequest, Decider, apply_for_credit, default_form
from lendcore.origination.onboarding import ConsentGrant, register_customer
from lendcore.products.catalog import Catalog, default_catalog
from lendcore.risk.features import FeatureConfig
from lendcore.risk.strategy import StrategySet, default_strategies
from lendcore.security.pii import KeyRing, PiiCipher
from lendcore.store.models import Customer

TODAY = date(2025, 6, 16)
NOW = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)
CIPHER = PiiCipher(KeyRing.development(), b"k" * 32)
_seq = itertools.count(100)


def make_id(birth: date = date(1990, 5, 5), region: str = "110105", seq: int | None = None) -> str:
    s = f"{next(_seq) % 1000:03d}" if seq is None else f"{seq:03d}"
    first17 = f"{region}{birth:%Y%m%d}{s}"
    return first17 + id_check_char(first17)


def make_card(prefix: str = "622202", length: int = 19) -> str:
    body = prefix + f"{next(_seq):0{length - len(prefix) - 1}d}"
    return body + luhn_check_digit(body)


def make_phone() -> str:
    return f"139{next(_seq):08d}"


ALL_CONSENTS = (
    ConsentGrant(ConsentKind.TERMS, "1.0"),
    ConsentGrant(ConsentKind.PRIVACY, "1.0"),
    ConsentGrant(ConsentKind.SENSITIVE_PERSONAL_INFO, "1.0"),
)


def onboarding_request(name: str = "张三", **kw: Any) -> OnboardingRequest:
    values: dict[str, Any] = {
        "name": name,
        "id_number": make_id(),
        "phone": make_phone(),
        "cards": (CardInput(make_card(), name),),
    }
    values.update(kw)
    return OnboardingRequest(**values)


def register(session: Session, consents: tuple[ConsentGrant, ...] = ALL_CONSENTS, **kw: Any) -> Customer:
    return register_customer(
        session, onboarding_request(**kw), business_date=TODAY, cipher=CIPHER, consents=consents, at=NOW
    )


@dataclass(frozen=True)
class _Result:
    score: int
    probability_bad: float
    contributions: tuple[Any, ...] = ()


class FakeScorer:
    """PD driven by the requested amount (credit_amount in yuan / 100,000): 3,000 yuan → 0.03 → A.

    Its amounts are yuan, so :data:`YUAN_FEATURES` (no yuan → DM conversion) goes with it."""

    model_id = "fake"
    version = "1"

    def score(self, features: Any) -> _Result:
        pd = float(features["credit_amount"]) / 100_000
        return _Result(int(700 - pd * 1000), pd)


#: Feature config for the FakeScorer: ``credit_amount`` stays in yuan (the shipped model's DM
#: conversion would make every test amount 0.188 × smaller).
YUAN_FEATURES = FeatureConfig(amount_scale=Decimal(1))
STRATEGIES: StrategySet = default_strategies(Decimal("0.5"))
CATALOG: Catalog = default_catalog()


def clock() -> datetime:
    return NOW


def apply(
    session: Session,
    customer_id: str,
    *,
    key: str | None = None,
    on: date = TODAY,
    device: str | None = "device-1",
    scorer: Any = None,
    cipher: PiiCipher = CIPHER,
    **form: Any,
) -> dict[str, Any]:
    request = ApplicationRequest(
        customer_id=customer_id,
        product_code="quick",
        form=default_form(**form),
        device_id=device,
        business_date=on,
        idempotency_key=key or f"k-{next(_seq)}",
    )
    decider = Decider(
        scorecard=scorer or FakeScorer(),
        strategies=STRATEGIES,
        catalog=CATALOG,
        cipher=cipher,
        clock=clock,
        features=YUAN_FEATURES if scorer is None else FeatureConfig(),
    )
    return apply_for_credit(session, request, decider=decider).to_json()


def counter() -> Iterator[int]:
    return itertools.count()
