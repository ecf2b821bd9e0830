"""Alembic migrations, applied programmatically by ``partitur migrate`` and ``partitur serve``.

Each domain owns a migration branch rooted at the base revision, so ``upgrade heads`` applies
them all; domains never reference each other's tables with foreign keys.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from partitur.storage.engine import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(store: Store) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    cfg.attributes["engine"] = store.engine
    return cfg


def upgrade(store: Store) -> None:
    """Bring the database schema up to date (idempotent)."""
    command.upgrade(alembic_config(store), "heads")


def current_revisions(store: Store) -> list[str]:
    """The migration revisions the database is at (one per domain branch), sorted."""
    with store.engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())
