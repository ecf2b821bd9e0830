"""The ``partitur`` command line."""

from __future__ import annotations

import logging
import sys

import duckdb
import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from partitur.cli import (
    analytics,
    channels,
    decisions,
    demo,
    events,
    journeys,
    maps,
    models,
    profiles,
    segments,
    server,
)
from partitur.cli.common import err_console
from partitur.cli.workspace import sources_app, tokens_app, users_app
from partitur.core.errors import PartiturError

# Every command group has plain (click) help: Typer's Rich help shows a flag as if it took a
# value ("--json <bool>"); plain help shows "--json", "--publish / --draft".
app = typer.Typer(
    rich_markup_mode=None,
    help="partitur — customer journey orchestration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(sources_app, name="sources")
app.add_typer(tokens_app, name="tokens")
app.add_typer(users_app, name="users")

# Every command group, listed once: a module that fails to import stops the CLI with its error.
app.add_typer(events.app, name="import")
app.add_typer(profiles.app, name="profiles")
app.add_typer(journeys.app, name="journeys")
app.add_typer(segments.app, name="segments")
app.add_typer(channels.app, name="channels")
app.add_typer(analytics.app, name="analytics")
app.add_typer(models.app, name="models")
app.add_typer(decisions.app, name="decisions")
app.add_typer(maps.app, name="maps")
server.register(app)
demo.register(app)


def main() -> None:
    """Entry point: run the CLI; known errors become one line on stderr and an exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except PartiturError as exc:
        where = f" ({exc.field})" if exc.field else ""
        err_console.print(f"error{where}: {exc.detail}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        err_console.print(f"error ({field}): {first.get('msg')}", markup=False, highlight=False)
        sys.exit(2)
    except SQLAlchemyError as exc:
        err_console.print(
            f"error: database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}",
            markup=False,
            highlight=False,
        )
        sys.exit(8)
    except duckdb.Error as exc:
        err_console.print(
            f"error: analytics: {str(exc).splitlines()[0]}", markup=False, highlight=False
        )
        sys.exit(8)
    except (OSError, ValueError) as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
