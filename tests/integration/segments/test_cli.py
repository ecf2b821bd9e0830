"""``partitur segments`` from a shell: documents in, JSON out, one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from partitur.cli.main import app, main


@pytest.fixture
def shell(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PARTITUR_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PARTITUR_VAR_DIR", str(tmp_path / "var"))
    return CliRunner()


def test_create_update_show_and_list_as_json(shell: CliRunner, tmp_path: Path) -> None:
    document = tmp_path / "pro.yaml"
    document.write_text("key: pro\nname: Pro\nrule:\n  trait: plan\n  value: pro\n")
    created = shell.invoke(app, ["segments", "create", str(document), "--json"])
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["version"] == 1

    document.write_text("key: pro\nname: Pro users\nrule: {trait: plan, op: in, value: [pro]}\n")
    updated = shell.invoke(app, ["segments", "update", str(document), "--json"])
    assert json.loads(updated.output)["version"] == 2

    listed = json.loads(shell.invoke(app, ["segments", "list", "--json"]).output)
    assert [(s["key"], s["name"], s["size"]) for s in listed] == [("pro", "Pro users", 0)]
    preview = shell.invoke(app, ["segments", "preview", str(document), "--json"])
    assert json.loads(preview.output) == {"size": 0, "sample": [], "evaluated_by": "sql"}


def test_a_bad_document_fails_with_one_line_naming_the_path_and_exit_code_2(
    shell: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"key": "bad", "name": "B", "rule": {"trait": "x", "op": "older"}}')
    monkeypatch.setattr(sys, "argv", ["partitur", "segments", "create", str(bad)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("error (rule.op): ")
