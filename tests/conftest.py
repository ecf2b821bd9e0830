"""Fixtures shared by every test: stores on SQLite and PostgreSQL, a context, an API client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from partitur.access import service as access
from partitur.access.contracts import Scope
from partitur.app import create_app
from partitur.context import Context
from partitur.core.actions import Actor
from partitur.core.clock import VirtualClock
from partitur.settings import Settings
from partitur.workspaces import service as workspaces
from tests.support.postgres import PostgresServer

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# the providers, sinks and servers of the tests listen on 127.0.0.1: allow them as destinations
# (core/outbound.py refuses every address that is not public); subprocesses inherit it
os.environ.setdefault("PARTITUR_OUTBOUND_ALLOWED_HOSTS", '["127.0.0.1", "localhost", "::1"]')


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def _new_pg_database(server: PostgresServer) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each engine the store supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'partitur.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return _new_pg_database(server)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For tests that need only one engine (SQLite)."""
    return f"sqlite:///{tmp_path / 'partitur.db'}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        sqlite_synchronous="NORMAL",
        analytics_snapshot_seconds=0,
    )


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def ctx(settings: Settings, clock: VirtualClock) -> Iterator[Context]:
    context = Context.open(settings, clock=clock)
    yield context
    context.close()


@pytest.fixture
def client(ctx: Context, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, ctx=ctx)) as test_client:
        yield test_client


@pytest.fixture
def admin_token(ctx: Context) -> str:
    with ctx.store.begin() as conn:
        return access.create_token(
            conn,
            workspace_id=ctx.workspace_id,
            name="test",
            scopes=[Scope.admin],
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).token


@pytest.fixture
def admin_headers(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def write_key(ctx: Context) -> str:
    with ctx.store.begin() as conn:
        return workspaces.create_source(
            conn,
            workspace_id=ctx.workspace_id,
            name="web",
            now=ctx.clock.now(),
            actor=Actor.system(ctx.workspace_id, "test"),
        ).write_key
