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
                actor=Actor.system(ctx.workspace_id, "demo"),
            )
    except PartiturError as exc:
        # a small demo (a few weeks of history) has no orders before the 90-day holdout
        report.note(f"CLV not fitted: {exc.detail}")
        return
    report.add("CLV profiles", result.profiles_updated)
    report.note(
        f"CLV holdout (90 days): predicted {result.predicted_holdout_purchases:.0f} purchases, "
        f"actual {result.actual_holdout_purchases:.0f}"
    )


def sentiment_step(ctx: Context, report: Any) -> None:
    """Score tickets, survey comments and reviews into computed.sentiment."""
    with ctx.store.begin() as conn:
        updated = service.refresh_profile_sentiment(
            conn, workspace_id=ctx.workspace_id, now=ctx.clock.now(), days=365
        )
    report.add("profiles with sentiment", updated)


def churn_step(ctx: Context, report: Any) -> None:
    """Train the churn model and write computed.scores.churn."""
    now = ctx.clock.now()
    if not _registered(ctx, "churn"):
        try:
            with ctx.store.begin() as conn:
                model = service.train_churn_model(
                    conn,
                    workspace_id=ctx.workspace_id,
                    now=now,
                    var_dir=ctx.settings.var_dir,
                    horizon_days=60,
                    actor=Actor.system(ctx.workspace_id, "demo"),
                )
        except PartiturError as exc:
            report.note(f"churn model not trained: {exc.detail}")
            return
        report.note(f"churn model: out-of-time ROC-AUC {model.metrics['roc_auc']:.2f}")
    with ctx.store.begin() as conn:
        scored, drift = service.score_profiles(
            conn, workspace_id=ctx.workspace_id, now=now, var_dir=ctx.settings.var_dir
        )
    report.add("churn scores", scored)
    if drift.alert:
        report.note("churn score drift: " + "; ".join(drift.alerts))


DEMO_STEPS = [clv_step, sentiment_step, churn_step]
