from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from partitur.analytics.engine import open_engine
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.settings import Settings
from partitur.workspaces import service

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def sources_in(path: str) -> int:
    with sqlite3.connect(path) as copy:
        return int(copy.execute("SELECT count(*) FROM sources").fetchone()[0])


def test_duckdb_reads_a_current_copy_never_the_live_sqlite_file(tmp_path: Path) -> None:
    ctx = Context.open(
        Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", analytics_snapshot_seconds=0)
    )
    with ctx.store.begin() as conn:
        service.create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name="web",
            now=NOW,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    first = ctx.store.sqlite_snapshot()
    assert first != ctx.store.sqlite_path
    assert sources_in(first) == 1
    with ctx.store.begin() as conn:
        service.create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name="app",
            now=NOW,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert sources_in(ctx.store.sqlite_snapshot()) == 2  # the commit just made is in the copy
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        (count,) = engine.con.execute("SELECT count(*) FROM store.sources").fetchone()
    assert count == 2
    ctx.close()


def test_a_recent_copy_is_reused_within_the_allowed_staleness(tmp_path: Path) -> None:
    ctx = Context.open(
        Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", analytics_snapshot_seconds=60)
    )
    first = ctx.store.sqlite_snapshot()
    with ctx.store.begin() as conn:
        service.create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name="web",
            now=NOW,
            actor=Actor.system(ctx.workspace_id, "test"),
        )
    assert sources_in(ctx.store.sqlite_snapshot()) == sources_in(first) == 0
    ctx.close()
