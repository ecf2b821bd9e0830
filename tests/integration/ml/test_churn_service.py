"""Propensity lifecycle over the store: train beside the baseline and register with the
comparison, activate only a model that beats the baseline, score the population into computed
traits (drift against the training population), serve scores and comparisons over the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.rules import ProfileFacts, evaluate, parse_rule
from partitur.ml import ports, service
from partitur.ml.contracts import LabelSpec, PropensityDefinition
from tests.support.ml_data import add_events, add_profile, synthetic_customers


def _seed(ctx: Context, n: int = 400) -> set[str]:
    now = ctx.clock.now()
    rows = synthetic_customers(n, now=now, seed=9)
    ids = {r[0] for r in rows}
    with ctx.store.begin() as conn:
        for pid in sorted(ids):
            add_profile(conn, workspace_id=ctx.workspace_id, profile_id=pid, now=now)
        add_profile(conn, workspace_id=ctx.workspace_id, profile_id="visitor", now=now)
        add_events(conn, workspace_id=ctx.workspace_id, rows=rows)
    return ids


def test_train_score_and_serve_a_churn_model(
    ctx: Context, client: TestClient, admin_headers: dict[str, str]
) -> None:
    now = ctx.clock.now()
    _seed(ctx)
    with ctx.store.begin() as conn:
        comparison = service.train_churn_model(
            conn,
            workspace_id=ctx.workspace_id,
            now=now,
            var_dir=ctx.settings.var_dir,
            horizon_days=60,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert comparison.version == 1 and comparison.split == "out_of_time"
    assert comparison.model_roc_auc > 0.7 and comparison.baseline_roc_auc > 0.6
    assert comparison.activated == (comparison.model_roc_auc > comparison.baseline_roc_auc)
    assert comparison.serving == ("model" if comparison.activated else "baseline")
    with ctx.store.begin() as conn:
        scored, drift = service.score_profiles(
            conn, workspace_id=ctx.workspace_id, now=now, var_dir=ctx.settings.var_dir
        )
    assert scored > 0 and drift.model == "churn" and set(drift.feature_psi)
    with ctx.store.read() as conn:
        snaps = {
            pid: ports.get_profile_snapshot(conn, workspace_id=ctx.workspace_id, profile_id=pid)
            for pid in ("c00001", "visitor")
        }
    # a profile without any event is outside the population: no score at all
    assert "churn" not in (snaps["visitor"].computed.get("scores") or {})
    response = client.post(
        "/api/ml/models/churn/score", json={"profile_id": "visitor"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["score"] is None and response.json()["in_population"] is False
    comparison_api = client.get("/api/ml/models/churn/comparison", headers=admin_headers)
    assert comparison_api.status_code == 200
    assert comparison_api.json()["baseline_roc_auc"] == comparison.baseline_roc_auc
    missing = client.post(
        "/api/ml/models/propensity_x/score", json={"profile_id": "c00001"}, headers=admin_headers
    )
    assert missing.status_code == 404
    rule = parse_rule({"score": "churn", "op": "gte", "value": 0.0})
    with ctx.store.read() as conn:
        holders = [
            s
            for s in (
                ports.get_profile_snapshot(conn, workspace_id=ctx.workspace_id, profile_id=p)
                for p in [f"c{i:05d}" for i in range(400)]
            )
            if s is not None and (s.computed.get("scores") or {}).get("churn") is not None
        ]
    assert len(holders) == scored
    assert evaluate(rule, ProfileFacts(computed=holders[0].computed), now)


def test_the_version_serves_the_model_only_when_it_beats_the_baseline(ctx: Context) -> None:
    now = ctx.clock.now()
    _seed(ctx, 300)
    definition = PropensityDefinition(
        name="propensity_ticket",
        label=LabelSpec(kind="event", event="Ticket Created"),
        horizon_days=30,
        lookback_days=56,
    )
    with ctx.store.begin() as conn:
        comparison = service.train_propensity_model(
            conn,
            workspace_id=ctx.workspace_id,
            definition=definition,
            now=now,
            var_dir=ctx.settings.var_dir,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
        stored = service.model_comparison(
            conn, workspace_id=ctx.workspace_id, name="propensity_ticket"
        )
        _, model = service._load(conn, ctx.workspace_id, "propensity_ticket", ctx.settings.var_dir)
    assert stored == comparison
    assert comparison.activated is (comparison.model_roc_auc > comparison.baseline_roc_auc)
    # what scores is what won: the boosted model, or else the logistic baseline
    assert model.classifier.serving == comparison.serving
    assert ("beats" in comparison.reason) is comparison.activated
