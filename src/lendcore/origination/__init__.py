"""Origination use cases: onboarding, applications, human review, explanations, limits (see
docs/origination.md, "Persisted flow"). The pure decision core lives in :mod:`lendcore.risk`."""
