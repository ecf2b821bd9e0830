"""Watermarks for loops that follow an append-only table (e.g. the event log by ``seq``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from partitur.storage.tables import loop_cursors


def get_position(conn: Connection, name: str) -> int:
    row = conn.execute(select(loop_cursors.c.position).where(loop_cursors.c.name == name)).first()
    return int(row[0]) if row else 0


def set_position(conn: Connection, name: str, position: int, now: datetime) -> None:
    updated = conn.execute(
        loop_cursors.update()
        .where(loop_cursors.c.name == name)
        .values(position=position, updated_at=now)
    )
    if updated.rowcount == 0:
        conn.execute(loop_cursors.insert().values(name=name, position=position, updated_at=now))
