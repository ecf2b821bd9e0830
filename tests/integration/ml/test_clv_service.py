"""CLV from order events: RFM in DuckDB, holdout validation, computed traits, registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.errors import ValidationFailed
from partitur.ml import clv, ports, registry, service
from tests.support.ml_data import add_events, add_profile

START = datetime(2025, 1, 1, tzinfo=UTC)


def _orders(ctx: Context, n: int = 300, seed: int = 3) -> None:
    """Customers who buy by the BG/NBD process over 52 weeks (first purchase in weeks 0-12)."""
    rng = np.random.default_rng(seed)
    first = rng.uniform(0, 12, n)
    with ctx.store.begin() as conn:
        rows = []
        for i in range(n):
            pid = f"prf_{i:04d}"
            add_profile(conn, workspace_id=ctx.workspace_id, profile_id=pid, now=START)
            lam, p = rng.gamma(0.8, 1 / 2.0), rng.beta(1.0, 4.0)
            t = first[i]
            while t < 52:
                at = START + timedelta(weeks=float(t))
                rows.append((pid, "Order Completed", at, {"revenue": float(rng.gamma(6, 5))}))
                if rng.random() < p:
                    break
                t += rng.exponential(1 / lam)
        rows.append(("prf_0000", "Product Viewed", START, {"revenue": 999.0}))
        add_events(conn, workspace_id=ctx.workspace_id, rows=rows)


def test_clv_run_validates_on_the_holdout_and_stores_computed_traits(
    ctx: Context, tmp_path
) -> None:
    _orders(ctx)
    now = START + timedelta(weeks=52)
    with ctx.store.begin() as conn:
        report = service.run_clv(
            conn,
            workspace_id=ctx.workspace_id,
            until=START + timedelta(weeks=39),
            now=now,
            unit="weeks",
            var_dir=ctx.settings.var_dir,
            chart_path=tmp_path / "clv.png",
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert report.customers > 250
    assert report.bg_nbd["r"] > 0 and report.gamma_gamma is not None
    # the model predicts the holdout total within 35 % on this small sample
    assert report.predicted_holdout_purchases == pytest.approx(
        report.actual_holdout_purchases, rel=0.35
    )
    assert (tmp_path / "clv.png").read_bytes()[:4] == b"\x89PNG"
    assert report.profiles_updated == report.customers
    with ctx.store.read() as conn:
        snapshot = ports.get_profile_snapshot(
            conn, workspace_id=ctx.workspace_id, profile_id="prf_0001"
        )
        model = registry.get_version(conn, workspace_id=ctx.workspace_id, name="clv")
    assert snapshot is not None
    stored = snapshot.computed["clv"]
    assert stored["value"] >= 0 and 0 <= stored["p_alive"] <= 1
    assert snapshot.computed["scores"]["clv"] == stored["value"]
    assert model.version == report.model_version and model.active
    assert (ctx.settings.var_dir / model.artifact / "params.json").is_file()


def test_rfm_counts_purchase_days_and_ignores_other_events(ctx: Context) -> None:
    with ctx.store.begin() as conn:
        add_profile(conn, workspace_id=ctx.workspace_id, profile_id="p1", now=START)
        add_events(
            conn,
            workspace_id=ctx.workspace_id,
            rows=[
                ("p1", "Order Completed", START, {"revenue": 10}),
                ("p1", "Order Completed", START + timedelta(hours=2), {"revenue": 5}),
                ("p1", "Order Completed", START + timedelta(days=10), {"revenue": 30}),
                ("p1", "Order Refunded", START + timedelta(days=11), {"revenue": 30}),
            ],
        )
        orders = ports.order_events(
            conn, workspace_id=ctx.workspace_id, event="Order Completed", revenue_property="revenue"
        )
    from partitur.ml.rfm import rfm_summary

    row = rfm_summary(orders, until=START + timedelta(days=30), unit="days").iloc[0]
    assert (row["frequency"], row["recency"], row["T"], row["monetary_value"]) == (1, 10, 30, 30)


def test_a_cut_off_after_now_is_refused(ctx: Context) -> None:
    with ctx.store.begin() as conn, pytest.raises(ValidationFailed) as info:
        service.run_clv(
            conn,
            workspace_id=ctx.workspace_id,
            until=START,
            now=START,
            var_dir=ctx.settings.var_dir,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert info.value.field == "until"


def test_population_expectation_is_monotone() -> None:
    fit = clv.BgNbdFit(0.243, 4.414, 0.793, 2.426, 0.0, 0, True)
    values = clv.expected_purchases_population(fit, np.array([1.0, 10.0, 39.0, 78.0]))
    assert np.all(np.diff(values) > 0)
