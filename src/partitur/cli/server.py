"""``partitur serve``, ``partitur worker`` and ``partitur migrate``."""

from __future__ import annotations

import ipaddress
import logging
import os
import threading

import typer

from partitur.channels import service as channels
from partitur.cli.common import JsonOpt, console, emit_json, open_context
from partitur.core.errors import ValidationFailed
from partitur.core.memory import freeze_startup_heap
from partitur.settings import load_settings

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate(json: bool = JsonOpt) -> None:
        """Create or upgrade the database schema."""
        from partitur.storage.migrate import current_revisions

        ctx = open_context()
        try:
            revisions = current_revisions(ctx.store)
        finally:
            ctx.close()
        if json:
            emit_json({"dialect": ctx.store.dialect, "revisions": revisions})
            return
        console.print(
            f"database is up to date ({ctx.store.dialect}, {len(revisions)} migration branches)"
        )

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to bind"),
        port: int = typer.Option(8000, help="TCP port"),
        with_worker: bool = typer.Option(
            False, "--with-worker", help="Also run the worker loops in-process"
        ),
        with_smtp: bool = typer.Option(
            False,
            "--with-smtp",
            help="Also run a local SMTP sink (demo) on the configured SMTP port",
        ),
    ) -> None:
        """Serve the API and UI (migrations are applied first)."""
        import uvicorn

        from partitur.app import create_app
        from partitur.worker import Worker, stuck_report

        settings = load_settings()
        if not settings.secret_key and not _loopback(host):
            # other machines will hold links signed with it: it must not live only in var/
            raise ValidationFailed(
                f"serving on {host} needs an explicit PARTITUR_SECRET_KEY (a generated key "
                "is only for a server on this machine, 127.0.0.1)",
                field="PARTITUR_SECRET_KEY",
            )
        ctx = open_context()
        extras: list[threading.Thread] = []
        worker: Worker | None = None
        if with_smtp:
            channels.start_sink(ctx, host=settings.smtp_host, port=settings.smtp_port)
        if with_worker:
            worker = Worker(ctx)
            extras = worker.start_threads()
        application = create_app(settings, ctx=ctx)
        freeze_startup_heap()
        console.print(
            f"partitur on http://{host}:{port}  (Studio: http://{host}:{port}/ui/,"
            f" API docs: http://{host}:{port}/docs)"
        )
        try:
            uvicorn.run(application, host=host, port=port, log_level="warning")
        finally:
            if worker is not None:
                worker.stop()
                stuck = worker.join(extras, settings.worker_stop_seconds)
                if stuck:
                    log.warning("%s", stuck_report(stuck, settings.worker_stop_seconds))
                else:
                    worker.close()

    @app.command()
    def worker() -> None:
        """Run the background loops (identity, journeys, timers, delivery) until stopped."""
        from partitur.worker import Worker

        settings = load_settings()
        ctx = open_context()
        worker = Worker(ctx)
        freeze_startup_heap()
        grace = settings.worker_stop_seconds
        code = worker.run(grace=grace, watchdog=grace + 10)
        if code:
            # loops still busy: exit without waiting for their threads (see worker.py)
            logging.shutdown()
            os._exit(code)
        ctx.close()


def _loopback(host: str) -> bool:
    """Whether ``host`` (an interface to bind) is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
