"""No default secret: a key is generated once per data folder and kept; the public key of
early versions and short keys are refused; a server for other machines needs its own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from partitur.channels.signing import sign, verify
from partitur.context import Context
from partitur.core.errors import PartiturError, ValidationFailed
from partitur.core.secret_key import PUBLIC_DEFAULT, key_file
from partitur.settings import Settings


def test_the_first_start_generates_a_private_key_and_later_starts_keep_it(
    settings: Settings,
) -> None:
    assert settings.secret_key == ""
    first = Context.open(settings)
    first.close()
    path = key_file(settings.var_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Context.open(settings)
    again.close()
    assert first.settings.secret_key == again.settings.secret_key == path.read_text().strip()
    assert len(first.settings.secret_key) >= 48
    # a link signed with the public key of early versions does not verify
    forged = sign(PUBLIC_DEFAULT, "unsubscribe", {"m": "msg_1"})
    with pytest.raises(PartiturError):
        verify(first.settings.secret_key, "unsubscribe", forged)


@pytest.mark.parametrize("key", [PUBLIC_DEFAULT, "too-short"])
def test_the_public_key_and_short_keys_are_refused(settings: Settings, key: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Context.open(settings.model_copy(update={"secret_key": key}))
    assert refused.value.field == "PARTITUR_SECRET_KEY"


def test_serving_other_machines_needs_an_explicit_key(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PARTITUR_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "PARTITUR_VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("PARTITUR_SECRET_KEY", None)
    refused = subprocess.run(
        [sys.executable, "-m", "partitur", "serve", "--host", "0.0.0.0", "--port", "9"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "error (PARTITUR_SECRET_KEY): serving on 0.0.0.0 needs an explicit PARTITUR_SECRET_KEY "
        "(a generated key is only for a server on this machine, 127.0.0.1)"
    )
