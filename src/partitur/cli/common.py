"""What every CLI command shares: opening the context, JSON output, one-line errors."""

from __future__ import annotations

import sys
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

from partitur.context import Context
from partitur.core import jsonutil
from partitur.settings import load_settings

console = Console()
# soft_wrap: an error stays on one line however narrow the terminal
err_console = Console(stderr=True, soft_wrap=True)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")


def open_context(migrate: bool = True) -> Context:
    return Context.open(load_settings(), migrate=migrate)


def emit_json(value: Any) -> None:
    """Write ``value`` (models, lists of models, dicts) as JSON to stdout."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    sys.stdout.write(jsonutil.dumps_str(value) + "\n")
