"""An engine can copy tables it will query many times into DuckDB once (the journey pages, a
journey map's measurement)."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest

from partitur.analytics import kpis
from partitur.analytics.engine import open_engine
from partitur.context import Context
from partitur.events.tables import events
from tests.support.analytics import D, _insert, _instance, event_row, insert_events, seed_journey


def test_materialized_tables_give_the_same_figures_without_the_omitted_columns(
    ctx: Context,
) -> None:
    seed_journey(ctx.store, ctx.workspace_id)
    now = ctx.clock.now()
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        live = kpis.journey_kpis(engine, journey_id="j1", now=now)
        live_nodes = kpis.node_kpis(engine, journey_id="j1")
        engine.materialize(
            "journey_instances", "journey_transitions", "messages", "no_such_table",
            omit=("state", "payload", "no_such_column"),
        )  # fmt: skip
        assert kpis.journey_kpis(engine, journey_id="j1", now=now) == live
        assert kpis.node_kpis(engine, journey_id="j1") == live_nodes
        columns = {r[0] for r in engine.query("DESCRIBE journey_instances").fetchall()}
        assert "status" in columns and "state" not in columns
        with pytest.raises(duckdb.BinderException):
            engine.query("SELECT payload FROM messages")


def test_a_materialized_copy_does_not_follow_later_commits(ctx: Context) -> None:
    seed_journey(ctx.store, ctx.workspace_id)
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        engine.materialize("journey_instances")
        before = kpis.journey_kpis(engine, journey_id="j1").entered
        with ctx.store.begin() as conn:
            _insert(
                conn, "journey_instances", [_instance(ctx.workspace_id, "i10", "p10", "active", D)]
            )
        engine.refresh()
        assert kpis.journey_kpis(engine, journey_id="j1").entered == before
    with open_engine(ctx.store, ctx.workspace_id) as fresh:
        assert kpis.journey_kpis(fresh, journey_id="j1").entered == before + 1


def test_the_events_of_one_period_are_copied_once_with_the_columns_asked_for(
    ctx: Context,
) -> None:
    ws = ctx.workspace_id
    insert_events(
        ctx.store,
        [
            event_row(ws, "web", "Product Viewed", D + timedelta(days=k), properties={"k": k})
            for k in range(10)
        ],
    )
    since, until = D + timedelta(days=3), D + timedelta(days=6)
    with open_engine(ctx.store, ws) as engine:
        engine.materialize_events(since=since, until=until, columns=("event", "properties"))
        rows = engine.rows("SELECT * FROM events ORDER BY timestamp")
        with ctx.store.begin() as conn:  # the copy does not follow later commits
            conn.execute(events.delete().where(events.c.workspace_id == ws))
        assert engine.query("SELECT count(*) FROM events").fetchone() == (3,)
    assert [json.loads(r["properties"])["k"] for r in rows] == [3, 4, 5]
    assert set(rows[0]) == {"timestamp", "event", "properties"}


def test_only_the_events_asked_for_by_name_are_copied(ctx: Context) -> None:
    ws = ctx.workspace_id
    insert_events(
        ctx.store,
        [
            event_row(ws, "web", name, D + timedelta(hours=k))
            for k, name in enumerate(["Product Viewed", "Order Completed", "Page Viewed"])
        ],
    )
    with open_engine(ctx.store, ws) as engine:
        engine.materialize_events(
            since=D,
            until=D + timedelta(days=1),
            columns=("event",),
            names=["Order Completed", "Product Viewed", "Never Sent"],
        )
        names = [r[0] for r in engine.query("SELECT event FROM events ORDER BY 1").fetchall()]
    assert names == ["Order Completed", "Product Viewed"]
