"""A deterministic, seeded simulation of the whole servicing loop under faults (TigerBeetle's VOPR is
the model): customers borrowing and repaying through the real use cases, the real job worker, the
real sweeper, reconciliation and daily close, against the channel simulator's engine with its seeded
faults, on a simulated clock. After every business day the invariants are asserted
(:mod:`lendcore.simulation.checks`). Same seed, same run. See docs/payments.md, "The simulation"."""
