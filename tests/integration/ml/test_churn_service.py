"""Churn model lifecycle: train and register, batch scores into computed traits, drift
check, on-demand scoring over the API, and the shared rule format reading the score."""

from __future__ import annotations

from fastapi.testclient import TestClient

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.ml import ports, registry, service
from partitur.segments.rules import ProfileFacts, evaluate, parse_rule
from tests.support.ml_data import add_events, add_profile, synthetic_customers


def test_train_score_and_serve_a_churn_model(
    ctx: Context, client: TestClient, admin_headers: dict[str, str]
) -> None:
    now = ctx.clock.now()
    rows = synthetic_customers(170, now=now, seed=9)
    with ctx.store.begin() as conn:
        for pid in sorted({r[0] for r in rows}):
            add_profile(conn, workspace_id=ctx.workspace_id, profile_id=pid, now=now)
        add_events(conn, workspace_id=ctx.workspace_id, rows=rows)
        model = service.train_churn_model(
            conn,
            workspace_id=ctx.workspace_id,
            now=now,
            var_dir=ctx.settings.var_dir,
            horizon_days=60,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert model.active and model.version == 1 and model.metrics["roc_auc"] > 0.75
    with ctx.store.begin() as conn:
        updated, drift = service.score_profiles(
            conn, workspace_id=ctx.workspace_id, now=now, var_dir=ctx.settings.var_dir
        )
    assert updated == len({r[0] for r in rows})
    assert drift.model == "churn" and set(drift.feature_psi)
    with ctx.store.read() as conn:
        snap = ports.get_profile_snapshot(conn, workspace_id=ctx.workspace_id, profile_id="c00001")
        listed = registry.list_versions(conn, workspace_id=ctx.workspace_id)
    assert snap is not None and 0 <= snap.computed["scores"]["churn"] <= 1
    assert [m.name for m in listed] == ["churn"]
    rule = parse_rule({"score": "churn", "op": "gte", "value": 0.0})
    assert evaluate(rule, ProfileFacts(computed=snap.computed), now)

    response = client.post(
        "/api/ml/models/churn/score", json={"profile_id": "c00001"}, headers=admin_headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["score"] == snap.computed["scores"]["churn"] and body["version"] == 1
    missing = client.post(
        "/api/ml/models/propensity_x/score", json={"profile_id": "c00001"}, headers=admin_headers
    )
    assert missing.status_code == 404


def test_sentiment_api(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/ml/sentiment",
        json={"texts": ["Der Support war großartig!", "The parcel never arrived."]},
        headers=admin_headers,
    )
    assert response.status_code == 200
    first, second = response.json()
    assert (first["language"], first["label"]) == ("de", "positive")
    assert (second["language"], second["label"]) == ("en", "negative")
