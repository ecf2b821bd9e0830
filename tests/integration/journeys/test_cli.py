"""``partitur journeys`` from the command line: validate, save/publish, simulate, inspect."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from partitur.cli.main import app
from partitur.context import Context
from partitur.journeys.definition import parse_definition
from partitur.settings import Settings
from tests.support.journeys import add_templates

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "journeys"


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """The CLI on a fresh store holding templates for every example journey."""
    monkeypatch.setenv("PARTITUR_DATABASE_URL", sqlite_url)
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var")
    ctx = Context.open(settings)
    refs: set[tuple[str, str]] = set()
    for path in EXAMPLES.glob("*.yaml"):
        refs |= parse_definition(yaml.safe_load(path.read_text())).template_refs()
    with ctx.store.begin() as conn:
        add_templates(conn, workspace_id=ctx.workspace_id, refs=refs, now=ctx.clock.now())
    ctx.close()
    return CliRunner()


def test_validate_reports_problems_with_node_ids_and_exit_code_2(
    cli: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "key: bad\nname: Bad\nentry: {type: manual}\nstart: a\nnodes:\n"
        "  - {id: a, type: branch, cases: [{when: {trait: x, op: exists}, next: b}]}\n"
        "  - {id: b, type: send, channel: fax, template: t}\n"
    )
    result = cli.invoke(app, ["journeys", "validate", str(bad), "--json"])
    assert result.exit_code == 2
    problems = json.loads(result.stdout)["problems"]
    found = {(p["node"], p["message"].split()[0]) for p in problems}
    assert {("a", "branch"), ("b", "unknown")} <= found
    assert {node for node, _ in found} == {"a", "b"}
    ok = cli.invoke(app, ["journeys", "validate", str(EXAMPLES / "welcome.yaml")])
    assert ok.exit_code == 0 and "valid" in ok.stdout


def test_save_publish_list_and_simulate_an_event_file(cli: CliRunner, tmp_path: Path) -> None:
    saved = cli.invoke(
        app, ["journeys", "save", str(EXAMPLES / "cart-abandonment.yaml"), "--publish"]
    )
    assert saved.exit_code == 0, saved.output
    listed = json.loads(cli.invoke(app, ["journeys", "list", "--json"]).stdout)
    assert [(j["key"], j["status"], j["latest_version"]) for j in listed] == [
        ("cart-abandonment", "active", 1)
    ]
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).isoformat()
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {
                    "userId": "u1",
                    "event": "Product Added",
                    "timestamp": t0,
                    "properties": {"price": 10},
                },
                {
                    "userId": "u2",
                    "event": "Product Added",
                    "timestamp": t0,
                    "properties": {"price": 10},
                },
                {
                    "userId": "u2",
                    "event": "Order Completed",
                    "timestamp": t0.replace("08:00", "08:20"),
                },
            ]
        )
    )
    result = cli.invoke(
        app,
        [
            "journeys",
            "simulate",
            "cart-abandonment",
            "--events",
            str(events),
            "--days",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["entered"] == 2
    assert report["node_counts"]["wait_order"] == 2
    assert report["node_counts"]["reminder_email"] == 1
    assert report["outcomes"] == {"completed": 1, "converted": 1}
    assert report["sends"] == {"email:cart-reminder": 1, "sms:cart-reminder-sms": 1}
    assert [s["node"] for s in report["samples"]["u2"]] == ["wait_order", None]
    text = cli.invoke(app, ["journeys", "simulate", "cart-abandonment", "--events", str(events)])
    assert "reminder_email" in text.stdout and "nothing sent" in text.stdout
    paused = cli.invoke(app, ["journeys", "pause", "cart-abandonment"])
    assert paused.exit_code == 0 and "paused" in paused.stdout


def test_load_publishes_every_example_once(cli: CliRunner) -> None:
    first = cli.invoke(app, ["journeys", "load", str(EXAMPLES), "--json"])
    assert first.exit_code == 0, first.output
    loaded = json.loads(first.stdout)
    assert len(loaded) == len(list(EXAMPLES.glob("*.yaml")))
    assert {j["status"] for j in loaded} == {"active"}
    again = json.loads(cli.invoke(app, ["journeys", "load", str(EXAMPLES), "--json"]).stdout)
    assert {j["latest_version"] for j in again} == {1}, "unchanged documents are not re-published"


def test_backfill_replays_history_once_and_names_bad_input(cli: CliRunner) -> None:
    saved = cli.invoke(app, ["journeys", "save", str(EXAMPLES / "welcome.yaml"), "--publish"])
    assert saved.exit_code == 0, saved.output
    done = cli.invoke(app, ["journeys", "backfill", "welcome", "--days", "3", "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["journeys"] == ["welcome"] and result["events"] == 0

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "partitur", "journeys", "backfill", *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    bad = run("welcome", "--since", "last week")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error (--since): not an ISO 8601 time: 'last week'"
    again = run("welcome", "--days", "3")
    assert again.returncode != 0 and again.stderr.strip().count("\n") == 0
    assert "journey 'welcome' was backfilled already" in again.stderr


def test_an_exported_journey_saves_back_into_the_same_document(
    cli: CliRunner, tmp_path: Path
) -> None:
    saved = cli.invoke(app, ["journeys", "save", str(EXAMPLES / "cart-abandonment.yaml")])
    assert saved.exit_code == 0, saved.output
    shown = json.loads(cli.invoke(app, ["journeys", "show", "cart-abandonment", "--json"]).stdout)
    exported = cli.invoke(app, ["journeys", "export", "cart-abandonment", "--draft"])
    assert exported.exit_code == 0, exported.output
    assert yaml.safe_load(exported.stdout) == shown["draft"]
    path = tmp_path / "cart.json"
    written = cli.invoke(
        app,
        ["journeys", "export", "cart-abandonment", "--draft", "--format", "json", "-o", str(path)],
    )
    assert written.exit_code == 0, written.output
    assert json.loads(path.read_text()) == shown["draft"]
    assert cli.invoke(app, ["journeys", "save", str(path)]).exit_code == 0
    again = json.loads(cli.invoke(app, ["journeys", "show", "cart-abandonment", "--json"]).stdout)
    assert again["draft"] == shown["draft"]
    as_json = cli.invoke(app, ["journeys", "export", "cart-abandonment", "--draft", "--json"])
    assert json.loads(as_json.stdout) == shown["draft"]
    unpublished = cli.invoke(app, ["journeys", "export", "nope"])
    assert unpublished.exit_code != 0
