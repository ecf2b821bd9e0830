"""Infrastructure tables every domain may use: loop cursors (watermarks of background loops)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from partitur.core.types import UtcDateTime
from partitur.storage.base import metadata

loop_cursors = Table(
    "loop_cursors",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
    Column("updated_at", UtcDateTime, nullable=False),
)
