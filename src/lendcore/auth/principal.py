"""Who a request acts for: a customer (by id) or a member of staff (by id, with roles)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class StaffRole(StrEnum):
    """What a member of staff may do. ``admin`` passes every role check."""

    VIEWER = "viewer"  # read customers, lines, contracts, payments
    OPERATOR = "operator"  # servicing actions (waivers, reversals) within policy
    RISK = "risk"  # reviews, overrides, blacklists, models
    FINANCE = "finance"  # ledger, reconciliation, write-offs, the daily close
    ADMIN = "admin"  # staff users and everything else


PrincipalKind = Literal["customer", "staff"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. ``subject`` is a ``cus_…`` id or a ``stf_…`` id."""

    kind: PrincipalKind
    subject: str
    roles: frozenset[StaffRole] = frozenset()
    username: str | None = None

    @property
    def key(self) -> str:
        """A stable text key (``customer:cus_…``): what idempotency records and rate limits use."""
        return f"{self.kind}:{self.subject}"

    @property
    def customer_id(self) -> str | None:
        return self.subject if self.kind == "customer" else None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def has_any_role(self, roles: frozenset[StaffRole]) -> bool:
        """Staff with one of ``roles`` (or ``admin``); never a customer."""
        return self.is_staff and (StaffRole.ADMIN in self.roles or bool(self.roles & roles))
