"""Write a migration that creates the given tables, rendered from their ``tables.py`` definitions.

    python scripts/new_migration.py --module partitur.journeys.tables --rev 0300_journeys \
        --label journeys --message "journeys: definitions, instances, timers" [--tables a,b]

Each domain's first migration hangs off the base revision (``--down 0001_base``) so domains
migrate independently; later migrations of a domain use ``--down`` with that domain's head.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import produce_migrations, render_python_code
from alembic.migration import MigrationContext
from alembic.operations import ops
from sqlalchemy import create_engine

from partitur.storage.base import metadata

TEMPLATE = '''"""{message}

Revision ID: {rev}
Revises: {down}
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql
from alembic import op

import partitur.core.types

revision = {rev!r}
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = None


{body}
'''


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", required=True, action="append")
    parser.add_argument("--rev", required=True)
    parser.add_argument("--down", default="0001_base")
    parser.add_argument("--label", default=None)
    parser.add_argument("--message", required=True)
    parser.add_argument("--tables", default=None, help="comma-separated subset")
    args = parser.parse_args()
    before = set(metadata.tables)
    for module in args.module:
        importlib.import_module(module)
    wanted = set(args.tables.split(",")) if args.tables else set(metadata.tables) - before
    if not wanted:
        raise SystemExit("no tables found; pass --tables")
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        script = produce_migrations(MigrationContext.configure(conn), metadata)
    keep = [
        op
        for op in script.upgrade_ops.ops
        if (isinstance(op, ops.CreateTableOp) and op.table_name in wanted)
        or (isinstance(op, ops.ModifyTableOps) and op.table_name in wanted)
    ]
    script.upgrade_ops.ops = keep
    script.downgrade_ops.ops = [op.reverse() for op in reversed(keep)]
    up = render_python_code(
        script.upgrade_ops, alembic_module_prefix="op.", sqlalchemy_module_prefix="sa."
    )
    down = render_python_code(
        script.downgrade_ops, alembic_module_prefix="op.", sqlalchemy_module_prefix="sa."
    )
    up = re.sub(r"^\s*# ###.*\n", "", up, flags=re.M)
    down = re.sub(r"^\s*# ###.*\n", "", down, flags=re.M)
    body = f"def upgrade() -> None:\n{up}\n\ndef downgrade() -> None:\n{down}"
    body = body.replace("\n\n    ", "\n    ")
    labels = (args.label,) if args.label else None
    down_rev = None if args.down in ("", "none", "None") else args.down
    text = TEMPLATE.format(
        message=args.message, rev=args.rev, down=down_rev, labels=labels, body=body
    )
    path = Path("src/partitur/storage/migrations/versions") / f"{args.rev}.py"
    path.write_text(text)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(path)], check=False)
    subprocess.run([sys.executable, "-m", "ruff", "check", "-q", "--fix", str(path)], check=False)


if __name__ == "__main__":
    main()
