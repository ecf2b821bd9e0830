"""The server's secret key (signed links, encrypted provider secrets): there is no default.
When ``PARTITUR_SECRET_KEY`` is not set, the first start generates a random key into the data
folder (``<var_dir>/secret_key``, readable by its owner only) and every later start, and
every process sharing the folder (API, worker, CLI), uses it. A server reachable from other
machines must be given its key explicitly (``partitur serve`` refuses to bind a non-loopback
address without one), so that several machines agree and a lost folder is not a new key.
The public key of early versions is refused: links signed with it must not verify."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from partitur.core.errors import ValidationFailed

#: The key early versions used when none was set: public, so refused.
PUBLIC_DEFAULT = "partitur-dev-secret-change-me"
#: The shortest explicit key accepted.
MIN_LENGTH = 32
FILE_NAME = "secret_key"


def key_file(var_dir: Path) -> Path:
    return var_dir / FILE_NAME


def check_explicit(key: str) -> str:
    """An explicit key, checked; raises ``ValidationFailed`` naming ``PARTITUR_SECRET_KEY``."""
    if key == PUBLIC_DEFAULT:
        raise ValidationFailed(
            "PARTITUR_SECRET_KEY is the public key of early versions; remove it (a key is "
            "generated) or set a random one",
            field="PARTITUR_SECRET_KEY",
        )
    if len(key) < MIN_LENGTH:
        raise ValidationFailed(
            f"PARTITUR_SECRET_KEY must have at least {MIN_LENGTH} characters "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")',
            field="PARTITUR_SECRET_KEY",
        )
    return key


def stored_or_new(var_dir: Path) -> str:
    """The key kept in ``var_dir``, generated (mode 0600) on first use. Several processes may
    start at once: the first to create the file wins, the others read it."""
    path = key_file(var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    key = secrets.token_urlsafe(48)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return key


def _read(path: Path) -> str:
    # a process that lost the race may find the file before its key was written
    for _ in range(50):
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        time.sleep(0.02)
    raise ValidationFailed(f"{path} holds no key", field="PARTITUR_SECRET_KEY")


def resolve(explicit: str, var_dir: Path) -> str:
    """The key to use: the explicit one (checked), else the one kept in ``var_dir``."""
    return check_explicit(explicit) if explicit else stored_or_new(var_dir)
