"""Every place that decrypts personal information is known, and the one that shows it unmasked audits.

A new ``.decrypt(`` call in ``src/`` fails this test until it is reviewed and listed with what it does
with the clear text: used by the machine and never shown, masked before it is shown, or shown
unmasked and audited (the export, ``privacy.export``, and staff unmasking, ``customer.unmasked``).
"""

from __future__ import annotations

import re
from pathlib import Path

import lendcore

SRC = Path(lendcore.__file__).resolve().parent
#: module → (number of decrypt calls, why the clear text does not leak unaudited)
REVIEWED = {
    "security/pii.py": (2, "the cipher itself (decrypt, reencrypt)"),
    "origination/blind_index.py": (11, "re-hashing, duplicate checks: the value never leaves"),
    "origination/applications.py": (1, "the ID number feeds the rules (age, region); never returned"),
    "origination/onboarding.py": (2, "customer_view: masked before it is returned"),
    "notify/delivery.py": (1, "the phone, to the SMS sink only; stored and logged masked"),
    "origination/cards.py": (2, "card views masked; the holder's name compared, never returned"),
    "origination/unmask.py": (1, "staff unmask one field with a reason: audited as customer.unmasked"),
    "queries/customers.py": (2, "the back office's customer list: masked before it is returned"),
    "privacy/export.py": (2, "the customer's export: unmasked, audited as privacy.export"),
}


def _decrypt_calls() -> dict[str, int]:
    found: dict[str, int] = {}
    for path in SRC.rglob("*.py"):
        calls = len(re.findall(r"\.decrypt\(", path.read_text(encoding="utf-8")))
        if calls:
            found[path.relative_to(SRC).as_posix()] = calls
    return found


def test_every_decrypt_call_is_reviewed() -> None:
    assert _decrypt_calls() == {module: count for module, (count, _) in REVIEWED.items()}
