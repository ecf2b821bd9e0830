"""What every CLI command shares: opening the context, JSON output, one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

from partitur.context import Context
from partitur.core import jsonutil
from partitur.core.errors import BadRequest
from partitur.core.safe_yaml import YamlRefused, load_yaml
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


def read_yaml_file(path: Path, *, field: str = "file") -> Any:
    """The data of a YAML or JSON file, read within the bounds of ``core.safe_yaml``; an
    unreadable or refused file raises ``BadRequest`` naming ``field``."""
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror}", field=field) from None
    except YamlRefused as exc:
        raise BadRequest(f"{path} is not valid JSON/YAML: {exc}", field=field) from None
