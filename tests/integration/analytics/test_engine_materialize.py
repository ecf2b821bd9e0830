"""An engine can copy tables it will query many times into DuckDB once (the journey pages)."""

from __future__ import annotations

import duckdb
import pytest

from partitur.analytics import kpis
from partitur.analytics.engine import open_engine
from partitur.context import Context
from tests.support.analytics import D, _insert, _instance, seed_journey


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
