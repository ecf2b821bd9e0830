"""A local SMTP server (aiosmtpd) that keeps every mail it receives as a file.

``make run`` starts it so the demo workspace delivers real mail without an outside server.
"""

from __future__ import annotations

import logging
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from partitur.context import Context
from partitur.core.ids import ulid

log = logging.getLogger(__name__)


class MaildirHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = (
            envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        )
        message_from_bytes(data)  # a mail that does not parse is still kept, raw
        (self.directory / f"{ulid()}.eml").write_bytes(data)
        return "250 Message accepted for delivery"


def start_sink(ctx: Context, *, host: str, port: int) -> Controller:
    """Start the sink in a background thread; mail lands in ``var/mail``."""
    controller = Controller(MaildirHandler(ctx.settings.var_dir / "mail"), hostname=host, port=port)
    controller.start()
    log.info("smtp sink listening host=%s port=%d", host, port)
    return controller
