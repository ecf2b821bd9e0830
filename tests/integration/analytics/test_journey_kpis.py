"""Journey KPIs over the store (SQLite and PostgreSQL), checked against the hand-built journey
in tests/support/analytics.py."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from partitur.analytics import kpis, paths
from partitur.analytics.engine import AnalyticsEngine, open_engine
from partitur.context import Context
from partitur.core.errors import NotFound
from partitur.ml.journey_success import forecast
from tests.support import forecasts
from tests.support.analytics import D, seed_instances, seed_journey


@pytest.fixture
def engine(ctx: Context):
    seed_journey(ctx.store, ctx.workspace_id)
    with open_engine(ctx.store, ctx.workspace_id) as eng:
        yield eng


def test_summary_counts_every_status_and_the_time_to_goal(engine: AnalyticsEngine) -> None:
    k = kpis.journey_kpis(engine, journey_id="j1", channel_costs={"sms": 0.1})
    assert (k.entered, k.active, k.completed, k.converted, k.exited) == (9, 2, 1, 3, 3)
    assert [(r.reason, r.count) for r in k.exited_by_reason] == [
        ("timeout", 2),
        ("unsubscribed", 1),
    ]
    assert k.conversion_rate == pytest.approx(3 / 9)
    # goals after 1 h, 3 h and 2 h: median 2 h; p90 interpolates 2 h + 0.8 * 1 h
    assert k.median_time_to_goal_seconds == 7200
    assert k.p90_time_to_goal_seconds == pytest.approx(10080)
    assert k.attributed_revenue == pytest.approx(180.0)
    assert k.profiles == 8
    # 3 emails at their recorded 0.001 and 2 SMS at the configured 0.1 (the failed one unsent)
    assert k.messages_sent == 5
    assert k.total_cost == pytest.approx(0.203)
    assert k.cost_per_conversion == pytest.approx(0.203 / 3)
    assert k.contacts_per_customer == pytest.approx(5 / 8)


def test_version_and_entry_range_narrow_the_instances(engine: AnalyticsEngine) -> None:
    v1 = kpis.journey_kpis(engine, journey_id="j1", version=1)
    assert (v1.entered, v1.converted, v1.attributed_revenue) == (8, 2, 150.0)
    assert v1.total_cost == pytest.approx(0.003 + 0.1)  # recorded costs without configuration
    first_day = kpis.journey_kpis(engine, journey_id="j1", start=D, end=D + timedelta(days=1))
    assert (first_day.entered, first_day.converted) == (5, 2)


def test_inactive_instances_have_no_transition_for_the_given_time(
    engine: AnalyticsEngine, ctx: Context
) -> None:
    k = kpis.journey_kpis(
        engine, journey_id="j1", now=ctx.clock.now(), inactive_after=timedelta(days=2)
    )
    # i6 last moved on Jan 1, i7 on Jan 4 12:10; now is Jan 5 09:00
    assert (k.inactive, k.inactive_share) == (1, 0.5)


def test_a_journey_without_older_cohorts_gets_no_forecast(
    engine: AnalyticsEngine, ctx: Context
) -> None:
    k = kpis.journey_kpis(engine, journey_id="j1", now=ctx.clock.now())
    # four days of history, three conversions: too little to learn the time to goal from
    assert k.forecast_conversion_rate is None and k.expected_conversions is None
    assert k.forecast_note is not None and "20 conversions" in k.forecast_note
    without_now = kpis.journey_kpis(engine, journey_id="j1")
    assert without_now.forecast_horizon_hours is None


def test_the_forecast_over_the_store_is_the_cure_rate_model(ctx: Context) -> None:
    # older cohorts at 20 %, a new one at 30 % observed on its fourth day (tests/support)
    j = forecasts.journey(np.random.default_rng(11), old_n=600, new_n=400)
    now = forecasts.START + timedelta(days=4)
    seed_instances(ctx.store, ctx.workspace_id, j, now)
    with open_engine(ctx.store, ctx.workspace_id) as eng:
        k = kpis.journey_kpis(eng, journey_id="jf", start=forecasts.START, now=now)
    history, cohort = forecasts.inputs(j, 4 * forecasts.DAY)
    expected = forecast(history, cohort)
    assert k.entered == cohort.entered == 400
    assert k.forecast_horizon_hours == history.horizon
    assert k.forecast_conversion_rate == pytest.approx(expected.conversion_rate)
    assert k.forecast_conversion_rate_low == pytest.approx(expected.conversion_rate_low)
    assert k.forecast_conversion_rate_high == pytest.approx(expected.conversion_rate_high)
    assert k.forecast_conversion_rate_low < j.final_rate < k.forecast_conversion_rate_high


def test_nodes_show_drop_off_and_the_delivery_funnel(engine: AnalyticsEngine) -> None:
    nodes = {n.node_id: n for n in kpis.node_kpis(engine, journey_id="j1", version=1)}
    email, wait, sms = nodes["email1"], nodes["wait1"], nodes["sms1"]
    assert (email.reached, email.waiting, email.exited_here) == (8, 1, 1)
    assert email.drop_off_rate == pytest.approx(1 / 8)
    assert (wait.reached, wait.waiting, wait.exited_here) == (6, 1, 2)
    assert wait.drop_off_rate == pytest.approx(2 / 6)
    assert (email.sent, email.delivered, email.opened, email.clicked) == (3, 3, 2, 1)
    assert (sms.reached, sms.sent, sms.delivered, sms.opened) == (4, 2, 1, 0)
    # a failed send is a failure, with its reason
    assert (sms.failed, sms.failure_reason) == (1, "no sms provider is configured")
    assert (email.failed, email.failure_reason, email.not_sent, email.pending) == (0, None, 0, 0)
    assert nodes["goal"].reached == 2


def test_kpis_over_time_by_day_of_entry(engine: AnalyticsEngine) -> None:
    points = kpis.kpi_timeseries(engine, journey_id="j1", version=1)
    assert [(p.period.day, p.entered, p.converted) for p in points] == [
        (1, 5, 2),
        (2, 2, 0),
        (4, 1, 0),
    ]


def test_journey_process_map_counts_paths_through_nodes(engine: AnalyticsEngine) -> None:
    pm = paths.journey_process_map(engine, journey_id="j1", version=1)
    assert (pm.cases, pm.events) == (8, 3 + 4 + 1 + 3 + 3 + 3 + 1 + 3)
    top = pm.variants[0]
    assert (top.activities, top.cases, top.share) == (["email1", "sms1", "wait1"], 3, 3 / 8)
    edges = {(e.source, e.target): e for e in pm.edges}
    assert edges[("email1", "sms1")].count == 3
    assert edges[("START", "email1")].count == 8
    assert edges[("email1", "END")].count == 2
    assert edges[("email1", "wait1")].median_seconds == 600


def test_missing_journey_tables_are_a_clear_not_found() -> None:
    engine = AnalyticsEngine(None, "ws")
    with pytest.raises(NotFound) as caught:
        kpis.journey_kpis(engine, journey_id="j1")
    assert caught.value.field == "journey_instances"


RICH_INSTANCES = """CREATE TABLE journey_instances (
    id VARCHAR(40) PRIMARY KEY, workspace_id VARCHAR(40) NOT NULL,
    journey_id VARCHAR(40) NOT NULL, version INTEGER NOT NULL, profile_id VARCHAR(40) NOT NULL,
    status VARCHAR(16) NOT NULL, entered_at DATETIME NOT NULL, ended_at DATETIME,
    end_reason TEXT, current_node VARCHAR(100), converted_at DATETIME, revenue VARCHAR(40),
    split_variants JSON, state JSON NOT NULL, rev INTEGER NOT NULL, is_test BOOLEAN NOT NULL)"""
RICH_MESSAGES = """CREATE TABLE messages (
    id VARCHAR(40) PRIMARY KEY, workspace_id VARCHAR(40) NOT NULL,
    profile_id VARCHAR(40) NOT NULL, channel VARCHAR(20) NOT NULL, template VARCHAR(100),
    category VARCHAR(20) NOT NULL, journey_id VARCHAR(40), journey_version INTEGER,
    instance_id VARCHAR(40), node_id VARCHAR(100), status VARCHAR(20) NOT NULL,
    attempts INTEGER NOT NULL, priority INTEGER NOT NULL, created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL, sent_at DATETIME, delivered_at DATETIME, opened_at DATETIME,
    clicked_at DATETIME, cost NUMERIC(12, 6), error TEXT,
    idempotency_key VARCHAR(300) NOT NULL)"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_kpis_read_the_owning_domains_richer_tables(ctx: Context) -> None:
    """The journeys and channels domains keep more columns (state, test flags, idempotency
    keys) and money as exact text; analytics reads them all the same and skips test
    instances."""
    from sqlalchemy import inspect, text

    existing = set(inspect(ctx.store.engine).get_table_names())
    with ctx.store.begin() as conn:
        if "journey_instances" not in existing:
            conn.execute(text(RICH_INSTANCES))
        if "messages" not in existing:
            conn.execute(text(RICH_MESSAGES))
    seed_journey(ctx.store, ctx.workspace_id)
    with ctx.store.begin() as conn:
        conn.execute(text("UPDATE journey_instances SET is_test = 1 WHERE id = 'i8'"))
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        k = kpis.journey_kpis(engine, journey_id="j1", version=1)
    assert (k.entered, k.completed, k.converted) == (7, 0, 2)
    assert k.attributed_revenue == pytest.approx(150.0)
    assert k.total_cost == pytest.approx(0.103)
