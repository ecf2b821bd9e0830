"""Queries over the journey map tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from partitur.journey_maps.tables import (
    journey_map_comments,
    journey_map_taxonomies,
    journey_map_versions,
    journey_maps,
)


def map_row(conn: Connection, *, workspace_id: str, key: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(journey_maps).where(
                journey_maps.c.workspace_id == workspace_id,
                journey_maps.c.key == key,
                journey_maps.c.deleted_at.is_(None),
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def map_rows(
    conn: Connection, *, workspace_id: str, filters: dict[str, str]
) -> list[dict[str, Any]]:
    query = select(journey_maps).where(
        journey_maps.c.workspace_id == workspace_id, journey_maps.c.deleted_at.is_(None)
    )
    for column, value in filters.items():
        query = query.where(journey_maps.c[column] == value)
    return [dict(r) for r in conn.execute(query.order_by(journey_maps.c.key)).mappings()]


def version_rows(conn: Connection, *, map_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(journey_map_versions)
        .where(journey_map_versions.c.map_id == map_id)
        .order_by(journey_map_versions.c.version)
    ).mappings()
    return [dict(r) for r in rows]


def comment_rows(conn: Connection, *, map_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(journey_map_comments)
        .where(journey_map_comments.c.map_id == map_id)
        .order_by(journey_map_comments.c.created_at, journey_map_comments.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def taxonomy_row(conn: Connection, *, workspace_id: str) -> list[dict[str, Any]] | None:
    row = conn.execute(
        select(journey_map_taxonomies.c.stages).where(
            journey_map_taxonomies.c.workspace_id == workspace_id
        )
    ).first()
    return list(row[0]) if row else None
