"""A real OpenID provider for the sign-in tests: the certified ``oidc-provider`` package (Node),
started from ``tests/support/oidc_provider/provider.mjs`` on 127.0.0.1 (free port).

``make test`` installs it with ``npm ci`` from the committed lock file; nothing is fetched
while the tests run. People sign in on the provider's own login page with e-mail and password.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.support.live_server import free_port

HERE = Path(__file__).parent / "oidc_provider"


@dataclass(frozen=True)
class ProviderAccount:
    email: str
    password: str
    name: str
    email_verified: bool = True


@dataclass
class OpenIdProvider:
    """One provider process; ``start`` with the clients and accounts it knows."""

    clients: list[dict[str, object]]
    accounts: dict[str, ProviderAccount]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    issuer: str = ""
    log: list[str] = field(default_factory=list)

    def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("Node.js is missing: the sign-in tests need Node 20 and npm")
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("the test OpenID provider is not installed: run `make test-deps`")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENTS": json.dumps(self.clients),
            "OIDC_ACCOUNTS": json.dumps(
                {
                    f"acct-{i}": {
                        "email": a.email,
                        "password": a.password,
                        "name": a.name,
                        "email_verified": a.email_verified,
                    }
                    for i, a in enumerate(self.accounts.values())
                }
            ),
        }
        self.process = subprocess.Popen(
            [node, str(HERE / "provider.mjs")],
            cwd=HERE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()
        ready: list[str] = []
        reader = threading.Thread(
            target=lambda: ready.append(self.process.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(timeout=30)
        if not ready or not ready[0].strip():
            self.stop()
            raise RuntimeError("the OpenID provider did not start: " + " ".join(self.log))
        self.issuer = json.loads(ready[0])["issuer"]

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self.log.append(line.rstrip())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
