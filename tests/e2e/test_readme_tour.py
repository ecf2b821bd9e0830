"""The README's tour on the command line works as typed: its lines, read from README.md, run
one after the other in bash against a served demo workspace, and each exits 0."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: large enough for the tour's CLV fit (its last 90 days validate it), small enough to be quick
CUSTOMERS, DAYS = 300, 150


def tour_commands(readme: str) -> list[str]:
    """The shell lines of the README's tour, continuation lines joined, comments dropped."""
    section = readme.split("## A tour on the command line", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the tour has a sh block"
    commands: list[str] = []
    pending = ""
    for raw in block.group(1).splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        # a comment starts with "  #" after the command (no command line holds " #" itself)
        line = re.split(r"\s{2,}#", line)[0].strip()
        if line:
            commands.append(line)
    return commands


def test_the_tour_is_read_whole_from_the_readme() -> None:
    commands = tour_commands((ROOT / "README.md").read_text())
    assert commands[0] == ". .venv/bin/activate"
    assert any(c.startswith("curl ") and c.endswith("/v1/track") for c in commands)
    assert len(commands) == 11


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], int]]:
    """A demo workspace served as `make run` serves it (API, worker loops) on a free port."""
    home = tmp_path_factory.mktemp("tour")
    env = {
        **os.environ,
        "PARTITUR_DATABASE_URL": f"sqlite:///{home / 'partitur.db'}",
        "PARTITUR_VAR_DIR": str(home / "var"),
        "PARTITUR_SMTP_PORT": "1",  # no mail server: sends retry, off the tour's way
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    subprocess.run(
        [sys.executable, "-m", "partitur", "demo", "--customers", str(CUSTOMERS), "--days",
         str(DAYS), "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "partitur", "serve", "--port", str(port), "--with-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "server started"
            time.sleep(0.2)
        yield env, port
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a demo load and a dozen command-line start-ups
def test_every_line_of_the_readme_tour_exits_0(
    served: tuple[dict[str, str], int], tmp_path: Path
) -> None:
    env, port = served
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the tour runs from the clone
    script = ["set -euo pipefail"]
    for number, command in enumerate(tour_commands((ROOT / "README.md").read_text()), 1):
        if command.startswith(". .venv/bin/activate"):
            continue  # the test's PATH has the virtualenv's commands first
        command = command.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
        script.append(f"echo '>>> {number}' >&2")
        if command.startswith("partitur profiles lookup"):
            # the server resolves the imported events in the background, in well under a
            # second; a person typing the next line never sees the gap, a script may
            script.append(
                f"deadline=$((SECONDS + 30)); until {command}; do "
                '[ "$SECONDS" -lt "$deadline" ] || exit 1; sleep 0.2; done'
            )
        else:
            script.append(command)
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ada@example.com" in done.stdout
    assert (tmp_path / "matrix.svg").read_text().startswith("<")
