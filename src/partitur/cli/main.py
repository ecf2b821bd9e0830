"""The ``partitur`` command line."""

from __future__ import annotations

import importlib
import logging
import sys

import duckdb
import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from partitur.cli.common import err_console
from partitur.cli.workspace import sources_app, tokens_app
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

#: Domains add command groups as ``partitur.cli.<module>.app``; (module, command name).
COMMAND_GROUPS = [
    ("partitur.cli.events", "import"),
    ("partitur.cli.profiles", "profiles"),
    ("partitur.cli.journeys", "journeys"),
    ("partitur.cli.segments", "segments"),
    ("partitur.cli.channels", "channels"),
    ("partitur.cli.analytics", "analytics"),
    ("partitur.cli.models", "models"),
    ("partitur.cli.decisions", "decisions"),
    ("partitur.cli.maps", "maps"),
]
#: Modules that add top-level commands to ``app`` when imported (serve, demo, ...).
COMMAND_MODULES = ["partitur.cli.server", "partitur.cli.demo"]

for module_name, command in COMMAND_GROUPS:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        continue
    app.add_typer(module.app, name=command)

for module_name in COMMAND_MODULES:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        continue
    module.register(app)


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
