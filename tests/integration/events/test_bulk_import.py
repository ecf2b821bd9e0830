"""``partitur import events``: JSONL and CSV, reject file, quarantine, idempotent re-runs."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from partitur.context import Context
from partitur.core.errors import NotFound, ValidationFailed
from partitur.events import service
from partitur.events.bulk_import import import_events
from partitur.events.tables import events
from partitur.workspaces.service import ensure_source

JSONL = "\n".join(
    [
        '{"type":"track","userId":"u1","event":"Order Completed","messageId":"m1"}',
        '{"type":"track","event":"nobody"}',
        "{not json",
        "",
        '{"type":"identify","anonymousId":"a1","traits":{"plan":"pro"}}',
        '{"userId":"u2","event":"Typeless"}',
    ]
)


def run_import(ctx: Context, path: Path, **options: Any) -> Any:
    with ctx.store.begin() as conn:
        source = ensure_source(conn, workspace_id=ctx.workspace_id, name="crm", now=ctx.clock.now())
    return import_events(
        ctx.store,
        workspace_id=ctx.workspace_id,
        source_id=source.id,
        source_name=source.name,
        path=path,
        received_at=ctx.clock.now(),
        **options,
    )


def stored(ctx: Context) -> list[tuple[Any, ...]]:
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(events.c.type, events.c.user_id, events.c.anonymous_id, events.c.event).order_by(
                events.c.seq
            )
        ).all()
    return [tuple(r) for r in rows]


def test_jsonl_import_keeps_good_lines_and_reports_bad_ones_by_line(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(JSONL)
    summary = run_import(ctx, path)
    assert (summary.lines, summary.accepted, summary.rejected) == (5, 2, 3)
    assert stored(ctx) == [("track", "u1", None, "Order Completed"), ("identify", None, "a1", None)]
    rejects = [json.loads(line) for line in (tmp_path / "events.jsonl.rejects.jsonl").open()]
    assert [(r["line"], r["field"]) for r in rejects] == [(2, "userId"), (3, None), (6, "type")]
    assert rejects[1]["raw"] == "{not json"
    assert "invalid JSON" in rejects[1]["reason"]
    with ctx.store.read() as conn:
        kept, _ = service.list_quarantine(conn, workspace_id=ctx.workspace_id, cursor=None, limit=9)
    assert sorted(q.position for q in kept) == ["2", "3", "6"]
    assert {q.origin for q in kept} == {"import:events.jsonl"}


def test_re_running_an_import_stores_nothing_twice(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(JSONL)
    run_import(ctx, path, default_type="track")
    again = run_import(ctx, path, default_type="track")
    assert (again.accepted, again.duplicates, again.rejected) == (0, 3, 2)
    assert len(stored(ctx)) == 3
    with ctx.store.read() as conn:
        kept, _ = service.list_quarantine(conn, workspace_id=ctx.workspace_id, cursor=None, limit=9)
    assert len(kept) == 2  # quarantined once, not once per run


def test_an_interrupted_import_leaves_whole_chunks_and_a_re_run_completes_it(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(
        "\n".join(json.dumps({"type": "track", "userId": f"u{i}", "event": "E"}) for i in range(7))
    )

    def crash(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(ctx, path, chunk_lines=3, on_progress=crash)
    assert len(stored(ctx)) == 3  # the first chunk, whole
    resumed = run_import(ctx, path, chunk_lines=3)
    assert (resumed.accepted, resumed.duplicates) == (4, 3)
    assert [r[1] for r in stored(ctx)] == [f"u{i}" for i in range(7)]


def test_an_import_interrupted_with_a_worker_leaves_whole_chunks_and_no_scratch_files(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(
        "\n".join(json.dumps({"type": "track", "userId": f"u{i}", "event": "E"}) for i in range(9))
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def crash(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(ctx, path, workers=1, chunk_lines=3, on_progress=crash)
    assert [r[1] for r in stored(ctx)] == ["u0", "u1", "u2"]  # the first chunk, whole
    assert list(scratch.iterdir()) == []
    resumed = run_import(ctx, path, workers=1, chunk_lines=3)
    assert (resumed.accepted, resumed.duplicates) == (6, 3)
    assert [r[1] for r in stored(ctx)] == [f"u{i}" for i in range(9)]
    assert list(scratch.iterdir()) == []


def test_worker_processes_import_the_same_as_inline(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(JSONL + "\n" + JSONL.replace('"m1"', '"m2"'))
    summary = run_import(ctx, path, workers=1, chunk_lines=4)
    assert (summary.lines, summary.accepted, summary.duplicates, summary.rejected) == (10, 3, 1, 6)
    rejects = [json.loads(line) for line in (tmp_path / "events.jsonl.rejects.jsonl").open()]
    assert [r["line"] for r in rejects] == [2, 3, 6, 8, 9, 12]
    assert stored(ctx)[:2] == [
        ("track", "u1", None, "Order Completed"),
        ("identify", None, "a1", None),
    ]


def test_csv_import_maps_columns_and_puts_the_rest_in_properties(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,action,ts,amount\n"
        "c1,Order Completed,2025-12-01T10:00:00Z,19.90\n"
        ",Order Completed,2025-12-01T11:00:00Z,5\n"
    )
    summary = run_import(
        ctx,
        path,
        mapping={"userId": "customer_id", "event": "action", "timestamp": "ts"},
        default_type="track",
    )
    assert (summary.accepted, summary.rejected) == (1, 1)
    with ctx.store.read() as conn:
        row = conn.execute(select(events)).mappings().one()
    assert (row["user_id"], row["event"], row["properties"]) == (
        "c1",
        "Order Completed",
        {"amount": "19.90"},
    )
    assert row["timestamp"].isoformat() == "2025-12-01T10:00:00+00:00"
    [reject] = [json.loads(x) for x in (tmp_path / "orders.csv.rejects.jsonl").open()]
    assert (reject["line"], reject["field"]) == (3, "userId")


def test_csv_mapping_errors_name_the_field(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,action\nc1,Bought\n")
    with pytest.raises(ValidationFailed) as no_column:
        run_import(ctx, path, mapping={"userId": "cust"}, default_type="track")
    assert no_column.value.field == "map"
    with pytest.raises(ValidationFailed) as no_type:
        run_import(ctx, path, mapping={"userId": "customer_id"})
    assert no_type.value.field == "type"
    with pytest.raises(NotFound):
        run_import(ctx, tmp_path / "missing.csv")


def cli(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partitur", *args],
        capture_output=True,
        text=True,
        env={"PARTITUR_DATABASE_URL": url, "PATH": ""},
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_cli_imports_with_a_json_summary_and_fails_in_one_line(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(JSONL)
    done = cli(
        "import", "events", str(path), "--source", "crm", "--json", url=sqlite_url, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["accepted"], summary["rejected"], summary["source"]) == (2, 3, "crm")
    assert summary["rejects_file"].endswith("events.jsonl.rejects.jsonl")
    missing = cli("import", "events", "nope.jsonl", url=sqlite_url, cwd=tmp_path)
    assert missing.returncode != 0
    assert missing.stderr.strip() == "error (FILE): no such file: nope.jsonl"
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("a,b\n1,2\n")
    bad_map = cli(
        "import", "events", str(csv_path), "--map", "userId", url=sqlite_url, cwd=tmp_path
    )
    assert bad_map.returncode != 0
    assert bad_map.stderr.count("\n") == 1 and "FIELD=COLUMN" in bad_map.stderr


VARIED = [
    {
        "type": "track",
        "userId": "u1",
        "event": "Order Completed",
        "messageId": "v1",
        "timestamp": "2026-01-01T10:00:00Z",
        "properties": {"city": "Zürich", "total": 19.9},
    },
    {
        "type": "track",
        "userId": 42,
        "event": "Paid",
        "messageId": "v2",
        "timestamp": "2026-01-01T10:00:00.123Z",
        "context": {"ip": "10.0.0.1"},
    },
    {
        "type": "page",
        "anonymousId": "a1",
        "name": "Home",
        "messageId": "v3",
        "originalTimestamp": "2026-01-01T10:00:00.123456Z",
        "sentAt": "2026-01-01T10:00:05Z",
    },
    {
        "type": "identify",
        "anonymousId": "a2",
        "traits": {"plan": "pro", "tags": ["a", "✓"]},
        "timestamp": "2026-01-01T12:00:00+02:00",
        "integrations": {"All": True},
    },
    {
        "type": "group",
        "userId": "u3",
        "groupId": "g1",
        "timestamp": "2026-01-01T10:00:00",
        "messageId": "v5",
    },
    {
        "type": "alias",
        "userId": "u4",
        "previousId": "a9",
        "messageId": "v6",
        "timestamp": "2026-01-01T10:00:00.12Z",
    },
    {"type": "screen", "userId": " ", "anonymousId": "a3", "messageId": "v7"},
    {"type": "track", "userId": "u1", "event": "Order Completed", "messageId": "v1"},
    {"type": "track", "userId": "u5", "event": "Bad", "timestamp": "yesterday"},
]


def test_an_import_stores_exactly_what_the_tracking_api_stores(
    ctx: Context, tmp_path: Path
) -> None:
    # On SQLite an import stages its chunks in scratch files and copies them in SQL; the API
    # inserts its rows with parameters. Both must store the same values with the same types.
    path = tmp_path / "varied.jsonl"
    path.write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in VARIED) + "\n\n")
    with ctx.store.begin() as conn:
        sources = [
            ensure_source(conn, workspace_id=ctx.workspace_id, name=name, now=ctx.clock.now())
            for name in ("api", "inline", "worker")
        ]
        api = service.ingest_messages(
            conn,
            workspace_id=ctx.workspace_id,
            source_id=sources[0].id,
            messages=VARIED,
            received_at=ctx.clock.now(),
            origin="api:/v1/batch",
        )
    assert (api.accepted, api.duplicates, len(api.rejected)) == (7, 1, 1)
    for source, workers in zip(sources[1:], (0, 1), strict=True):
        summary = import_events(
            ctx.store,
            workspace_id=ctx.workspace_id,
            source_id=source.id,
            source_name=source.name,
            path=path,
            received_at=ctx.clock.now(),
            workers=workers,
            chunk_lines=4,
        )
        assert (summary.accepted, summary.duplicates, summary.rejected) == (7, 1, 1)
    columns = [c for c in events.c if c.name not in ("seq", "source_id")]
    with ctx.store.read() as conn:
        rows = [
            [
                tuple(r)
                for r in conn.execute(
                    select(*columns).where(events.c.source_id == s.id).order_by(events.c.seq)
                )
            ]
            for s in sources
        ]
        if ctx.store.is_sqlite:  # the stored text itself, and its SQLite type
            names = ", ".join(f"{c.name}, typeof({c.name})" for c in columns)
            raw = [
                conn.exec_driver_sql(
                    f"SELECT {names} FROM events WHERE source_id = ? ORDER BY seq", (s.id,)
                ).all()
                for s in sources
            ]
            assert raw[0] == raw[1] == raw[2]
            assert "blob" not in {v for row in raw[2] for v in row}
    assert rows[0] == rows[1] == rows[2]
    stored = {r[columns.index(events.c.message_id)]: r for r in rows[2]}
    timestamp = columns.index(events.c.timestamp)
    assert stored["v2"][timestamp].isoformat() == "2026-01-01T10:00:00.123000+00:00"
    assert stored["v6"][timestamp].isoformat() == "2026-01-01T10:00:00.120000+00:00"
    assert stored["v1"][columns.index(events.c.properties)] == {"city": "Zürich", "total": 19.9}


def test_a_large_import_ends_checkpointed_with_the_connections_settings_back(
    ctx: Context, tmp_path: Path
) -> None:
    """SQLite: the WAL is copied into the database on a side thread while the import runs and
    fully at the end; the import's connection goes back to the pool as it came."""
    path = tmp_path / "many.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"type": "track", "userId": f"u{i}", "event": "E", "properties": {"n": i}})
            for i in range(6000)
        )
    )
    summary = run_import(ctx, path, chunk_lines=500)
    assert summary.accepted == 6000
    assert len(stored(ctx)) == 6000
    if ctx.store.is_sqlite:
        with ctx.store.engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
            busy, log, copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, log) == (0, copied)
