from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from partitur.cli.main import app
from partitur.context import Context
from partitur.identity.loops import IdentityResolver
from partitur.settings import Settings
from tests.conftest import START
from tests.support.events import insert_events, message


def cli(*args: str, url: str) -> Result:
    """In-process run (fast); errors are checked through ``run_cli`` (the real entry point)."""
    return CliRunner().invoke(app, list(args), env={"PARTITUR_DATABASE_URL": url, "COLUMNS": "200"})


def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partitur", *args],
        capture_output=True,
        text=True,
        env={"PARTITUR_DATABASE_URL": url, "PATH": "", "COLUMNS": "200"},
        timeout=60,
        check=False,
    )


CSV = """user_id,email,phone,crm_id,first_name,plan
u-1,ada@example.com,+49 30 1234567,C-1,Ada,gold
u-2,not-an-email,,,Bob,silver
,,,,Nobody,none
u-3,cy@example.com,,C-3,Cy,bronze
"""


def test_import_profiles_is_idempotent_and_rejects_bad_rows_with_line_numbers(
    sqlite_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(CSV)
    first = cli("profiles", "import", str(source), "--json", url=sqlite_url)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["rows"], report["created"], report["rejected"]) == (4, 2, 2)
    with (tmp_path / "people.rejects.csv").open() as handle:
        rejects = list(csv.reader(handle))
    assert rejects[0] == ["line", "reason"]
    assert rejects[1][0] == "3" and rejects[1][1].startswith("email is not valid")
    assert rejects[2][0] == "4" and rejects[2][1].startswith("no usable identifier")

    again = cli("profiles", "import", str(source), "--json", url=sqlite_url)
    assert json.loads(again.stdout)["skipped"] == 2
    assert json.loads(again.stdout)["created"] == 0

    found = cli("profiles", "lookup", "--email", "ADA@example.com", "--json", url=sqlite_url)
    assert found.exit_code == 0, found.output
    ada = json.loads(found.stdout)
    assert ada["traits"]["plan"] == "gold"
    assert ada["identities"]["external:crm_id"] == ["C-1"]
    assert ada["identities"]["phone"] == ["+49301234567"]

    shown = cli("profiles", "show", ada["id"], url=sqlite_url)
    assert shown.exit_code == 0 and "gold" in shown.stdout


def test_cli_export_and_erase(sqlite_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var")
    ctx = Context.open(settings)
    with ctx.store.begin() as conn:
        insert_events(
            conn,
            ctx.workspace_id,
            [message("identify", at=START, user_id="u-9", traits={"email": "z@example.com"})],
        )
    IdentityResolver(ctx).run_until_idle()
    ctx.close()
    found = json.loads(
        run_cli("profiles", "lookup", "--user-id", "u-9", "--json", url=sqlite_url).stdout
    )
    export = cli("profiles", "export", found["id"], url=sqlite_url)
    assert export.exit_code == 0, export.output
    assert len(json.loads(export.stdout)["events"]) == 1
    erased = cli("profiles", "erase", found["id"], "--yes", "--json", url=sqlite_url)
    assert json.loads(erased.stdout)["events_erased"] == 1
    missing = run_cli("profiles", "show", found["id"], url=sqlite_url)
    assert missing.returncode == 4
    assert missing.stderr.strip().count("\n") == 0
    assert "Traceback" not in missing.stderr
