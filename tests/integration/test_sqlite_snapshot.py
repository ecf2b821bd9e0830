from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from partitur.analytics.engine import open_engine
from partitur.context import Context
from partitur.settings import Settings
from partitur.workspaces import service


def test_duckdb_reads_a_fresh_copy_never_the_live_sqlite_file(tmp_path: Path) -> None:
    ctx = Context.open(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}"))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with ctx.store.begin() as conn:
        service.create_source(conn, workspace_id=ctx.workspace_id, name="web", now=now)
    first = ctx.store.sqlite_snapshot()
    assert first != ctx.store.sqlite_path and os.path.exists(first)
    assert ctx.store.sqlite_snapshot() == first  # unchanged database: no new copy
    made = os.stat(first).st_ino
    with ctx.store.begin() as conn:
        service.create_source(conn, workspace_id=ctx.workspace_id, name="app", now=now)
    assert os.stat(ctx.store.sqlite_snapshot()).st_ino != made  # a commit: a new copy
    with open_engine(ctx.store, ctx.workspace_id) as engine:
        (count,) = engine.con.execute("SELECT count(*) FROM store.sources").fetchone()
    assert count == 2
    ctx.close()
