"""Demo workspace steps of the ml domain: CLV, sentiment and churn scores on the profiles.

Each step is idempotent: a model that is already registered is not trained again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import NotFound, PartiturError
from partitur.ml import registry, service


def _registered(ctx: Context, name: str) -> bool:
    with ctx.store.read() as conn:
        try:
            registry.get_version(conn, workspace_id=ctx.workspace_id, name=name)
        except NotFound:
            return False
    return True


def clv_step(ctx: Context, report: Any) -> None:
    """Fit CLV on the demo orders (the last 90 days validate) and store it on the profiles."""
    if _registered(ctx, "clv"):
        return
    now = ctx.clock.now()
    try:
        with ctx.store.begin() as conn:
            result = service.run_clv(
                conn,
                workspace_id=ctx.workspace_id,
                until=now - timedelta(days=90),
                now=now,
                unit="weeks",
                var_dir=ctx.settings.var_dir,
                currency=ctx.settings.currency(),
                actor=Actor.system(ctx.workspace_id, "demo"),
            )
    except PartiturError as exc:
        # a small demo (a few weeks of history) has no orders before the 90-day holdout
        report.note(f"CLV not fitted: {exc.detail}")
        return
    report.add("CLV profiles", result.profiles_updated)
    correlation = (
        "n/a" if result.holdout_correlation is None else f"{result.holdout_correlation:.2f}"
    )
    report.note(
        f"CLV holdout (90 days): predicted {result.predicted_holdout_purchases:.0f} purchases, "
        f"actual {result.actual_holdout_purchases:.0f} (correlation per customer {correlation});"
        f" spend model: {result.gamma_gamma_status}; amounts in {result.currency}"
    )


def sentiment_step(ctx: Context, report: Any) -> None:
    """Score tickets, survey comments and reviews into computed.sentiment."""
    with ctx.store.begin() as conn:
        updated = service.refresh_profile_sentiment(
            conn, workspace_id=ctx.workspace_id, now=ctx.clock.now(), days=365
        )
    report.add("profiles with sentiment", updated)


def churn_step(ctx: Context, report: Any) -> None:
    """Train the churn model (60-day horizon) beside its logistic baseline and write
    computed.scores.churn for its population (customers active in the last 8 weeks)."""
    now = ctx.clock.now()
    if not _registered(ctx, "churn"):
        try:
            with ctx.store.begin() as conn:
                comparison = service.train_churn_model(
                    conn,
                    workspace_id=ctx.workspace_id,
                    now=now,
                    var_dir=ctx.settings.var_dir,
                    horizon_days=60,
                    currency=ctx.settings.currency(),
                    actor=Actor.system(ctx.workspace_id, "demo"),
                )
        except PartiturError as exc:
            report.note(f"churn model not trained: {exc.detail}")
            return
        report.note(
            f"churn model: out-of-time ROC-AUC {comparison.model_roc_auc:.3f}, logistic "
            f"baseline {comparison.baseline_roc_auc:.3f}"
            + (
                ""
                if comparison.activated
                else " (the model does not beat the baseline: the baseline scores)"
            )
        )
    with ctx.store.begin() as conn:
        scored, drift = service.score_profiles(
            conn,
            workspace_id=ctx.workspace_id,
            now=now,
            var_dir=ctx.settings.var_dir,
            currency=ctx.settings.currency(),
        )
    report.add("churn scores", scored)
    if drift.alert:
        report.note("churn score drift: " + "; ".join(drift.alerts))


def value_inputs_step(ctx: Context, report: Any) -> None:
    """Service cost, loyalty, digital affinity and influence from the store (the value
    tiers' inputs; the decisions step scores the tiers after this)."""
    with ctx.store.begin() as conn:
        updated = service.refresh_value_inputs(
            conn,
            workspace_id=ctx.workspace_id,
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "demo"),
        )
    report.add("profiles with value inputs", updated)


DEMO_STEPS = [clv_step, sentiment_step, churn_step, value_inputs_step]
