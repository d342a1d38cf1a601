"""An EBM artefact decides, explains and replays under the scorecard's contract (PIPL Art. 24)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from lendcore.origination.explain import explain_decision, replay_decision
from lendcore.risk.decision import DecisionConfig, decide, replay, same_outcome, to_record
from lendcore.risk.ebm_artefact import load_ebm
from lendcore.risk.features import build_features
from lendcore.risk.strategy import default_strategies
from lendcore.store.engine import unit_of_work

from ..origination.helpers import STRATEGIES, apply, register
from .test_decision import CTX, app

EBM = load_ebm(Path(__file__).parent / "fixtures" / "tiny_ebm.json")


def test_a_decision_takes_the_ebm_probability_and_replays_identically() -> None:
    strategies = default_strategies()
    for amount in (3_000, 20_000):
        a = app(amount, app_id=f"app_{amount}")
        decision = decide(a, CTX, EBM, strategies)
        scored = EBM.score(build_features(a, CTX))
        assert decision.probability_bad == scored.probability_bad and decision.score == scored.score
        assert (decision.model_id, decision.model_version) == ("tiny-ebm", "1")
        record = json.loads(json.dumps(to_record(decision, a, CTX, DecisionConfig())))
        assert same_outcome(decision, replay(record, EBM, strategies))


def test_explain_lists_every_term_and_replay_gives_the_same_decision(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        cid = register(session).id
        result = apply(session, cid, scorer=EBM)
    with unit_of_work(session_factory, read_only=True) as session:
        data = explain_decision(session, result["decision_id"])
        stored, replayed, same = replay_decision(session, result["decision_id"], EBM, STRATEGIES)
    assert same and stored == replayed
    assert data["versions"]["model_id"] == "tiny-ebm" and data["score"] == result["score"]
    contributions = data["contributions"]
    assert sorted(c["feature"] for c in contributions) == sorted(t.name for t in EBM.terms)
    assert {"feature", "value", "bin", "points", "max_points", "log_odds"} <= set(contributions[0])
    # worst first: what each term cost the applicant against its best
    costs = [c["max_points"] - c["points"] for c in contributions]
    assert costs == sorted(costs, reverse=True)
    assert abs(EBM.base_points + sum(c["points"] for c in contributions) - data["score"]) <= 0.5
    pair = next(c for c in contributions if c["feature"] == "duration_in_month & purpose")
    assert pair["value"] == [data["features"]["duration_in_month"], data["features"]["purpose"]]
