"""Loading the demo workspace through ingestion and identity resolution (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from partitur.access import service as access
from partitur.context import Context
from partitur.core.actions import Permission
from partitur.demo.generator import DemoConfig, generate
from partitur.demo.loader import run_demo
from partitur.demo.steps import DemoReport

END = datetime(2026, 1, 5, 12, tzinfo=UTC)
SMALL = {"customers": 80, "days": 21, "seed": 5, "end": END}


def test_the_demo_loads_every_valid_message_resolves_profiles_and_quarantines_the_bad(
    ctx: Context,
) -> None:
    from partitur.profiles import service as profiles

    report = run_demo(ctx, **SMALL)
    data = generate(DemoConfig(customers=80, days=21, seed=5, end=END))
    assert report.events == len(data.messages) - data.facts.malformed
    assert report.quarantined == data.facts.malformed
    assert report.profiles >= 80
    assert set(report.write_keys) == {"web", "app", "shop", "email", "crm", "support", "surveys"}
    with ctx.store.read() as conn:
        principal = access.authenticate_token(conn, report.admin_token)
        assert principal.can(Permission.manage_access)
    with ctx.store.read() as conn:
        verdict = access.check_password(
            conn,
            workspace_id=ctx.workspace_id,
            email=report.owner_email,
            password=report.owner_password,
            now=ctx.clock.now(),
        )
        owner = access.user_by_email(conn, workspace_id=ctx.workspace_id, email=report.owner_email)
    assert verdict.reason is None and owner is not None and owner.role.value == "owner"
    with ctx.store.read() as conn:
        signup = next(m for m in data.messages if m.get("event") == "Signed Up")
        anonymous_history = [
            m
            for m in data.messages
            if m.get("anonymousId") == signup["anonymousId"] and not m.get("userId")
        ]
        person = profiles.find_profile(
            conn, workspace_id=ctx.workspace_id, kind="user_id", value=signup["userId"]
        )
        _, timeline = profiles.list_events(
            conn, workspace_id=ctx.workspace_id, profile_id=person.id, limit=500
        )
    # the visits before signing up are on the customer's profile now
    ids = {e.message_id for e in timeline}
    assert anonymous_history and {m["messageId"] for m in anonymous_history} <= ids


def test_if_empty_skips_the_load_but_runs_the_idempotent_steps_again(ctx: Context) -> None:
    calls: list[int] = []

    def count_step(_ctx: Context, report: DemoReport) -> None:
        calls.append(report.events)
        report.add("example things", 3)

    first = run_demo(ctx, **SMALL, steps=[count_step])
    again = run_demo(ctx, **SMALL, if_empty=True, steps=[count_step])
    assert again.skipped and again.events == first.events
    assert calls == [first.events, first.events]
    assert again.extras == {"example things": 3}
    assert again.admin_token != first.admin_token
    # the owner is kept, with a new password printed at each load
    assert again.owner_email == first.owner_email == "owner@demo.partitur.dev"
    assert again.owner_password != first.owner_password


def test_loading_twice_without_if_empty_stores_each_message_once(sqlite_url: str) -> None:
    from partitur.settings import Settings

    ctx = Context.open(Settings(database_url=sqlite_url, sqlite_synchronous="OFF"))
    try:
        first = run_demo(ctx, **SMALL, steps=[])
        second = run_demo(ctx, **SMALL, steps=[])
    finally:
        ctx.close()
    assert second.events == first.events


def test_the_demo_command_prints_json_for_scripts(sqlite_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PARTITUR_DATABASE_URL": sqlite_url, "PARTITUR_VAR_DIR": str(tmp_path)}
    args = ["--customers", "30", "--days", "10", "--end", "2026-01-05T00:00:00Z", "--json"]
    out = subprocess.run(
        [sys.executable, "-m", "partitur", "demo", *args],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert report["events"] > 100 and report["admin_token"].startswith("ptk_")
    assert report["owner_email"] == "owner@demo.partitur.dev" and report["owner_password"]
    assert report["facts"]["customers"] == 30
    bad = subprocess.run(
        [sys.executable, "-m", "partitur", "demo", "--end", "yesterday"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error (--end): not an ISO 8601 time: 'yesterday'"
