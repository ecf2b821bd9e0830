"""A local SMTP server (aiosmtpd) that keeps every mail it receives as a file, and reads the
bounces that come back to the bounce mailbox.

``make run`` starts it so the demo workspace delivers real mail without an outside server.
Mail to ``bounce_address`` (the envelope sender the SMTP provider's ``bounce_address`` config
puts on outgoing mail) is a bounce mailbox: RFC 3464 delivery status notifications arriving
there are recorded as hard or soft bounces of the sink's workspace.
"""

from __future__ import annotations

import asyncio
import logging
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from partitur.channels.suppression import record_dsn
from partitur.context import Context
from partitur.core.errors import PartiturError
from partitur.core.ids import ulid

log = logging.getLogger(__name__)

DEFAULT_BOUNCE_ADDRESS = "bounces@partitur.localhost"


class MaildirHandler:
    def __init__(
        self,
        directory: Path,
        *,
        ctx: Context | None = None,
        bounce_address: str | None = None,
    ) -> None:
        self.directory = directory
        self.ctx = ctx
        self.bounce_address = bounce_address.lower() if bounce_address else None
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = (
            envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        )
        message_from_bytes(data)  # a mail that does not parse is still kept, raw
        rcpts = {str(r).lower() for r in envelope.rcpt_tos}
        if self.ctx is not None and self.bounce_address in rcpts:
            folder = self.directory / "bounces"
            folder.mkdir(exist_ok=True)
            (folder / f"{ulid()}.eml").write_bytes(data)
            await asyncio.to_thread(self._record_bounce, data)
        else:
            (self.directory / f"{ulid()}.eml").write_bytes(data)
        return "250 Message accepted for delivery"

    def _record_bounce(self, data: bytes) -> None:
        assert self.ctx is not None
        ctx = self.ctx
        try:
            with ctx.store.begin() as conn:
                outcomes = record_dsn(
                    conn, workspace_id=ctx.workspace_id, raw=data, now=ctx.clock.now()
                )
        except PartiturError as exc:
            # a bounce mailbox accepts everything; what is not a DSN is only kept as a file
            log.warning("bounce mailbox: message not recorded: %s", exc)
            return
        for outcome in outcomes:
            log.info(
                "bounce recorded address=%s kind=%s status=%s undeliverable=%s",
                outcome.address,
                outcome.kind,
                outcome.status,
                outcome.undeliverable,
            )


def start_sink(
    ctx: Context, *, host: str, port: int, bounce_address: str = DEFAULT_BOUNCE_ADDRESS
) -> Controller:
    """Start the sink in a background thread; mail lands in ``var/mail``, bounces to
    ``bounce_address`` in ``var/mail/bounces`` and the bounce ledger."""
    handler = MaildirHandler(ctx.settings.var_dir / "mail", ctx=ctx, bounce_address=bounce_address)
    controller = Controller(handler, hostname=host, port=port)
    controller.start()
    log.info("smtp sink listening host=%s port=%d bounces=%s", host, port, bounce_address)
    return controller
