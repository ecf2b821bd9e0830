"""The models and decisions command lines on a real SQLite store."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from partitur.cli.main import app
from partitur.context import Context
from partitur.settings import Settings
from tests.support.ml_data import add_events, add_profile


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PARTITUR_DATABASE_URL", url)
    monkeypatch.setenv("PARTITUR_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    return Settings(database_url=url, var_dir=tmp_path / "var")


def test_models_clv_reports_the_holdout_and_draws_a_chart_only_when_asked(
    store_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    rng = np.random.default_rng(5)
    ctx = Context.open(store_env)
    with ctx.store.begin() as conn:
        rows = []
        for i in range(120):
            pid = f"p{i}"
            add_profile(conn, workspace_id=ctx.workspace_id, profile_id=pid, now=now)
            for day in sorted(rng.choice(300, size=int(rng.integers(1, 8)), replace=False)):
                rows.append(
                    (
                        pid,
                        "Order Completed",
                        now - timedelta(days=int(day) + 1),
                        {"revenue": float(rng.gamma(3, 10))},
                    )
                )
        add_events(conn, workspace_id=ctx.workspace_id, rows=rows)
    ctx.close()
    # without --until the last 90 days validate the fit; nothing is written to the folder
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, ["models", "clv", "--unit", "weeks", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["customers"] > 50 and report["profiles_updated"] == 120
    assert report["unit"] == "weeks" and report["chart"] is None
    assert list(folder.iterdir()) == []
    # what the fit could not estimate is stored as null, never as NaN (which JSON cannot read)
    with sqlite3.connect(store_env.database_url.removeprefix("sqlite:///")) as db:
        stored = [row[0] for row in db.execute("SELECT computed FROM profiles")]
    assert len(stored) == 120
    for document in stored:
        json.loads(document, parse_constant=lambda name: pytest.fail(f"{name} stored"))
    until = (now - timedelta(days=60)).date().isoformat()
    chart = tmp_path / "holdout.png"
    drawn = CliRunner().invoke(
        app, ["models", "clv", "--until", until, "--chart", str(chart), "--dry-run"]
    )
    assert drawn.exit_code == 0, drawn.output
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert "holdout purchases predicted" in drawn.stdout
    listed = CliRunner().invoke(app, ["models", "list", "--json"])
    assert json.loads(listed.stdout)[0]["name"] == "clv"
    bad = CliRunner().invoke(app, ["models", "clv", "--until", "not-a-date"])
    assert bad.exit_code != 0


def test_decisions_route_from_the_command_line(store_env: Settings) -> None:
    ctx = Context.open(store_env)
    with ctx.store.begin() as conn:
        add_profile(
            conn,
            workspace_id=ctx.workspace_id,
            profile_id="vip",
            now=ctx.clock.now(),
            computed={"tier": "premium"},
        )
    ctx.close()
    result = CliRunner().invoke(
        app,
        [
            "decisions",
            "route",
            "--profile",
            "vip",
            "--intent",
            "billing",
            "--urgency",
            "critical",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert (decision["target"], decision["priority"]) == ("specialist", 1)
