"""The analytical engine: DuckDB over the store, read-only, with typed views.

``AnalyticsEngine(store, workspace_id)`` opens an in-memory DuckDB connection that attaches the
store (the SQLite file, or PostgreSQL through the ``postgres`` extension) read-only and exposes
one view per table, scoped to the workspace, with proper types: timestamps as ``TIMESTAMP``
(UTC, naive in DuckDB), JSON documents as ``JSON``. Journey and channel tables are optional:
``require(name)`` raises ``NotFound`` when a table does not exist in this store.

For large runs, ``snapshot(directory)`` keeps a columnar copy of the event log as Parquet parts,
maintained incrementally by ``seq``; an engine opened with ``snapshot_dir`` reads the parts and
only the newer rows from the store. Everything is SQL; nothing loops over events in Python.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy.engine import make_url

from partitur.core.errors import NotFound
from partitur.storage.engine import Store

log = logging.getLogger(__name__)

#: Tables analytics reads, with the columns that need a type fix.
TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "events": {
        "timestamps": ("timestamp", "original_timestamp", "sent_at", "received_at"),
        "json": ("properties", "traits", "context", "extra"),
    },
    "journey_instances": {
        "timestamps": ("entered_at", "ended_at", "converted_at"),
        "json": ("split_variants",),
    },
    "journey_transitions": {"timestamps": ("at",), "json": ()},
    "messages": {
        "timestamps": ("created_at", "sent_at", "delivered_at", "opened_at", "clicked_at"),
        "json": (),
    },
}

_PART = re.compile(r"part-(\d+)-(\d+)\.parquet$")


def _load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load an extension, installing it from its offline PyPI package (``duckdb-extension-<name>``)
    when needed: nothing is downloaded. Without a home directory (services, sandboxes) DuckDB
    keeps installed extensions under the temp directory."""
    try:
        con.execute(f"LOAD {name}")
        return
    except duckdb.Error:
        pass
    if not os.environ.get("HOME"):
        home = Path(tempfile.gettempdir()) / "partitur-duckdb"
        home.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET home_directory = {_quote(str(home))}")
    from duckdb_extensions import import_extension

    import_extension(name, con=con)
    con.execute(f"LOAD {name}")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def postgres_dsn(url: str) -> str:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL."""
    parsed = make_url(url)
    parts = {
        "host": parsed.host or "127.0.0.1",
        "port": str(parsed.port or 5432),
        "user": parsed.username or "postgres",
        "dbname": parsed.database or "postgres",
    }
    if parsed.password:
        parts["password"] = str(parsed.password)
    return " ".join(f"{k}={v}" for k, v in parts.items())


class AnalyticsEngine:
    """A DuckDB connection with the workspace's tables as typed, read-only views."""

    def __init__(
        self,
        store: Store | None,
        workspace_id: str,
        *,
        snapshot_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.available: set[str] = set()
        #: the store's columns of each available table (name -> DuckDB type)
        self.columns: dict[str, dict[str, str]] = {}
        self._store = store
        if store is not None:
            self._attach(store)
            self._create_views(snapshot_dir)

    def refresh(self) -> None:
        """See what was committed since the engine opened (SQLite: re-attach a fresh copy)."""
        if self._store is not None and self._store.is_sqlite:
            self.con.execute("DETACH store")
            self._attach(self._store)

    # -- setup ---------------------------------------------------------------------------------
    def _attach(self, store: Store) -> None:
        if store.is_sqlite:
            _load_extension(self.con, "sqlite")
            # never the live file: see Store.sqlite_snapshot for why
            path = store.sqlite_snapshot()
            self.con.execute(f"ATTACH {_quote(path)} AS store (TYPE sqlite, READ_ONLY)")
        else:
            _load_extension(self.con, "postgres")
            self.con.execute(
                f"ATTACH {_quote(postgres_dsn(store.url))} AS store (TYPE postgres, READ_ONLY)"
            )
        self.con.execute("SET TimeZone = 'UTC'")

    def _store_columns(self, table: str) -> dict[str, str]:
        try:
            rows = self.con.execute(f"DESCRIBE store.{table}").fetchall()
        except duckdb.CatalogException:
            return {}
        return {str(r[0]): str(r[1]).upper() for r in rows}

    def _typed_select(self, table: str, source: str, columns: dict[str, str]) -> str:
        spec = TABLES[table]
        fixes = []
        for name in spec["timestamps"]:
            if name in columns:
                if "TIME ZONE" in columns[name]:
                    fixes.append(f'timezone(\'UTC\', "{name}") AS "{name}"')
                else:
                    fixes.append(f'CAST("{name}" AS TIMESTAMP) AS "{name}"')
        for name in spec["json"]:
            if name in columns and columns[name] != "JSON":
                fixes.append(f'CAST("{name}" AS JSON) AS "{name}"')
        for name in ("revenue", "cost"):
            if name in columns:
                # money may be stored as text (exact decimals): analytics sums doubles
                fixes.append(f'TRY_CAST("{name}" AS DOUBLE) AS "{name}"')
        replace = f" REPLACE ({', '.join(fixes)})" if fixes else ""
        return f"SELECT *{replace} FROM {source}"

    def _create_views(self, snapshot_dir: Path | None) -> None:
        ws = _quote(self.workspace_id)
        for table in TABLES:
            columns = self._store_columns(table)
            if not columns:
                continue
            typed = self._typed_select(table, f"store.{table}", columns)
            if table == "events" and snapshot_dir is not None and self._parts(snapshot_dir):
                high = max(hi for _, hi, _ in self._parts(snapshot_dir))
                glob = _quote(str(Path(snapshot_dir) / "events" / "part-*.parquet"))
                body = (
                    f"SELECT * FROM read_parquet({glob}) UNION ALL BY NAME "
                    f"SELECT * FROM ({typed}) WHERE seq > {int(high)}"
                )
            else:
                body = typed
            self.con.execute(
                f'CREATE OR REPLACE VIEW "{table}" AS '
                f"SELECT * FROM ({body}) WHERE workspace_id = {ws}"
            )
            self.available.add(table)
            self.columns[table] = columns

    # -- snapshots -----------------------------------------------------------------------------
    @staticmethod
    def _parts(snapshot_dir: Path) -> list[tuple[int, int, Path]]:
        folder = Path(snapshot_dir) / "events"
        found = []
        for path in folder.glob("part-*.parquet") if folder.exists() else []:
            match = _PART.search(path.name)
            if match:
                found.append((int(match.group(1)), int(match.group(2)), path))
        return sorted(found)

    def snapshot(self, snapshot_dir: Path) -> dict[str, int]:
        """Append the events not yet in the Parquet copy as one new part (all workspaces).

        Returns ``{"rows": n, "from_seq": lo, "to_seq": hi}`` (rows 0 when nothing was new).
        """
        self.refresh()
        columns = self._store_columns("events")
        if not columns:
            raise NotFound("the store has no events table", field="events")
        parts = self._parts(snapshot_dir)
        high = max((hi for _, hi, _ in parts), default=0)
        typed = self._typed_select("events", "store.events", columns)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _snap AS SELECT * FROM ({typed}) WHERE seq > {high}"
        )
        row = self.con.execute("SELECT count(*), min(seq), max(seq) FROM _snap").fetchone()
        assert row is not None
        count, lo, hi = int(row[0]), row[1], row[2]
        if count:
            folder = Path(snapshot_dir) / "events"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"part-{int(lo):012d}-{int(hi):012d}.parquet"
            self.con.execute(f"COPY _snap TO {_quote(str(target))} (FORMAT parquet)")
        self.con.execute("DROP TABLE _snap")
        return {"rows": count, "from_seq": int(lo or 0), "to_seq": int(hi or high)}

    # -- queries -------------------------------------------------------------------------------
    def require(self, *tables: str) -> None:
        """Raise ``NotFound`` naming the first table this store does not have."""
        for table in tables:
            if table not in self.available:
                raise NotFound(f"the store has no {table} table yet", field=table)

    def query(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None
    ) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params or [])

    def rows(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def materialize(self, *tables: str, omit: tuple[str, ...] = ()) -> None:
        """Copy the workspace's rows of these tables into DuckDB's memory once, for a caller
        about to run many queries over them (a page with the KPIs of every journey): the store
        is then scanned once per table instead of once per query. Columns named in ``omit``
        (bulky documents the queries do not read) are left out of the copies. The copies do not
        follow later commits (``refresh`` does not renew them). Tables the store lacks are
        skipped."""
        for table in tables:
            if table not in self.available:
                continue
            # only columns the store has: names from its catalogue, safe to quote
            dropped = ", ".join(f'"{c}"' for c in omit if c in self.columns.get(table, {}))
            exclude = f" EXCLUDE ({dropped})" if dropped else ""
            self.con.execute(
                f'CREATE OR REPLACE TEMP TABLE "copy_{table}" AS SELECT *{exclude} FROM "{table}"'
            )
            self.con.execute(f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM "copy_{table}"')

    def materialize_events(
        self,
        *,
        since: datetime,
        until: datetime,
        columns: tuple[str, ...],
        names: Iterable[str] | None = None,
    ) -> None:
        """Copy the workspace's events of ``[since, until)`` with only ``columns`` (names of
        the store's ``events`` columns), and only those called one of ``names`` when given,
        into DuckDB's memory once, and let the ``events`` view read the copy: for a caller
        about to run many queries over one period (a journey map's measurement runs one per
        touchpoint). The store is then scanned once; queries see nothing outside the copy, and
        the copy does not follow later commits."""
        self.require("events")
        known = self.columns["events"]
        chosen = [c for c in dict.fromkeys(("timestamp", *columns)) if c in known]
        # names from the store's own catalogue, safe to quote
        listed = ", ".join(f'"{c}"' for c in chosen)
        params: dict[str, Any] = {
            "since": naive_utc(since, "since"),
            "until": naive_utc(until, "until"),
        }
        only = ""
        if names is not None:
            only = " AND event IN (SELECT unnest($names))"
            params["names"] = sorted(set(names))
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE copy_events AS SELECT {listed} FROM events "
            f"WHERE timestamp >= $since AND timestamp < $until{only}",
            params,
        )
        self.con.execute('CREATE OR REPLACE VIEW "events" AS SELECT * FROM copy_events')

    def close(self) -> None:
        self.con.close()


@contextmanager
def open_engine(
    store: Store, workspace_id: str, *, snapshot_dir: Path | None = None
) -> Iterator[AnalyticsEngine]:
    engine = AnalyticsEngine(store, workspace_id, snapshot_dir=snapshot_dir)
    try:
        yield engine
    finally:
        engine.close()


def frame_engine(**tables: Any) -> AnalyticsEngine:
    """An engine over in-memory tables (pandas DataFrames or Arrow tables), for the Python API."""
    engine = AnalyticsEngine(None, "")
    for name, table in tables.items():
        engine.con.register(name, table)
        engine.available.add(name)
    return engine


def naive_utc(moment: Any, field: str) -> Any:
    """DuckDB keeps UTC as naive ``TIMESTAMP``: convert an aware datetime (or pass ``None``)."""
    from datetime import UTC, datetime

    from partitur.core.errors import ValidationFailed

    if moment is None:
        return None
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValidationFailed("times must be ISO 8601 with a UTC offset", field=field)
    return moment.astimezone(UTC).replace(tzinfo=None)
