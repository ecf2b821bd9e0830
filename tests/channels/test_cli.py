"""The ``partitur channels`` commands, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from partitur.context import Context
from partitur.settings import Settings
from tests.channels.conftest import make_profile


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partitur", "channels", *args],
        capture_output=True,
        text=True,
        env={"PARTITUR_DATABASE_URL": url, "PATH": ""},
        timeout=60,
        check=False,
    )


def test_cli_queues_dispatches_and_lists_messages(sqlite_url: str, tmp_path: Path) -> None:
    ctx = Context.open(Settings(database_url=sqlite_url, sqlite_synchronous="NORMAL"))
    pid = make_profile(ctx, first_name="Jana")
    ctx.close()
    plugins = json.loads(run("plugins", "--json", url=sqlite_url).stdout)
    assert plugins["smtp"] == "email" and plugins["webhook"] == "webhook"
    queued = run(
        "send",
        pid,
        "--channel",
        "in_app",
        "--transactional",
        "--payload",
        '{"text": "hi"}',
        "--json",
        url=sqlite_url,
    )
    assert queued.returncode == 0, queued.stderr
    assert json.loads(queued.stdout)["status"] == "queued"
    report = json.loads(run("dispatch", "--json", url=sqlite_url).stdout)
    assert report["delivered"] == 1
    listed = json.loads(run("messages", "--json", url=sqlite_url).stdout)
    assert [m["status"] for m in listed] == ["delivered"]

    template = tmp_path / "t.yaml"
    template.write_text("key: promo\nchannel: email\nsubject: Hi\nbody_text: '{{ offer }}'\n")
    assert run("templates", "set", str(template), url=sqlite_url).returncode == 0
    check = run("templates", "check", "promo", url=sqlite_url)
    assert check.returncode == 2 and "missing variable" in check.stdout
    bad = run("send", pid, "--payload", "{oops", url=sqlite_url)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "payload" in bad.stderr
