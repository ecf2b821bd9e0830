"""Workspaces and their sources (write keys). Who may act in a workspace — people, service
accounts, API tokens, sessions — is the access domain's (``partitur.access``)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import Connection, select

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from partitur.core.ids import new_id
from partitur.storage.audit import AuditRecord, write_audit
from partitur.workspaces.contracts import Source, SourceInfo, Workspace
from partitur.workspaces.tables import sources, workspaces

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")


def _check_name(name: str, field: str) -> str:
    if not _NAME.match(name):
        raise ValidationFailed(
            f"{field} must be 1-100 letters, digits, spaces, '.', '_' or '-' and start with a "
            "letter or digit",
            field=field,
        )
    return name


def ensure_workspace(conn: Connection, *, name: str, now: datetime) -> Workspace:
    """Return the workspace called ``name``, creating it if needed."""
    row = conn.execute(select(workspaces).where(workspaces.c.name == name)).mappings().first()
    if row:
        return Workspace.model_validate(dict(row))
    _check_name(name, "name")
    ws = Workspace(id=new_id("ws"), name=name, created_at=now)
    conn.execute(workspaces.insert().values(**ws.model_dump()))
    # the workspace's first audit entry; no actor of the workspace exists yet to run an action
    write_audit(
        conn,
        AuditRecord(
            workspace_id=ws.id,
            at=now,
            actor="system:partitur",
            action="workspace.created",
            subject_type="workspace",
            subject_id=ws.id,
            after={"name": name},
        ),
    )
    return ws


@action("source.create", permission=Permission.manage_workspace, subject="source")
def create_source(
    conn: Connection,
    *,
    workspace_id: str,
    name: str,
    now: datetime,
    actor: Actor,
    write_key: str | None = None,
) -> Source:
    """Create a source with a new write key. Raises ``Conflict`` if the name is taken."""
    _check_name(name, "name")
    taken = conn.execute(
        select(sources.c.id).where(sources.c.workspace_id == workspace_id, sources.c.name == name)
    ).first()
    if taken:
        raise Conflict(f"a source named {name!r} exists already", field="name")
    source = Source(
        id=new_id("src"),
        workspace_id=workspace_id,
        name=name,
        write_key=write_key or secrets.token_urlsafe(24),
        created_at=now,
    )
    conn.execute(sources.insert().values(**source.model_dump()))
    describe(subject_id=source.id, after={"name": name})
    return source


def ensure_source(conn: Connection, *, workspace_id: str, name: str, now: datetime) -> Source:
    """Return the source called ``name``, creating it if needed (internal sources such as the
    one delivery events come back in through)."""
    row = (
        conn.execute(
            select(sources).where(sources.c.workspace_id == workspace_id, sources.c.name == name)
        )
        .mappings()
        .first()
    )
    if row:
        return Source.model_validate(dict(row))
    return create_source(
        conn,
        workspace_id=workspace_id,
        name=name,
        now=now,
        actor=Actor.system(workspace_id, "partitur"),
    )


def list_sources(conn: Connection, *, workspace_id: str) -> list[Source]:
    rows = conn.execute(
        select(sources).where(sources.c.workspace_id == workspace_id).order_by(sources.c.name)
    ).mappings()
    return [Source.model_validate(dict(r)) for r in rows]


def source_infos(conn: Connection, *, workspace_id: str, with_write_keys: bool) -> list[SourceInfo]:
    """The workspace's sources as readers see them: write keys only ``with_write_keys`` (for
    callers who may administer the workspace)."""
    return [
        SourceInfo(
            id=s.id,
            name=s.name,
            created_at=s.created_at,
            write_key=s.write_key if with_write_keys else None,
        )
        for s in list_sources(conn, workspace_id=workspace_id)
    ]


def get_source_by_name(conn: Connection, *, workspace_id: str, name: str) -> Source:
    row = (
        conn.execute(
            select(sources).where(sources.c.workspace_id == workspace_id, sources.c.name == name)
        )
        .mappings()
        .first()
    )
    if not row:
        raise NotFound(f"no source named {name!r}", field="name")
    return Source.model_validate(dict(row))


def source_for_write_key(conn: Connection, write_key: str) -> Source:
    """The enabled source with this write key; raises ``Unauthorized`` otherwise."""
    row = (
        conn.execute(
            select(sources).where(sources.c.write_key == write_key, sources.c.disabled_at.is_(None))
        )
        .mappings()
        .first()
    )
    if not row:
        raise Unauthorized("unknown or disabled write key")
    return Source.model_validate(dict(row))


def get_source(conn: Connection, *, workspace_id: str, source_id: str) -> Source:
    """One source of the workspace; ``NotFound`` (field ``source_id``) otherwise."""
    return _source_row(conn, workspace_id, source_id)


def _source_row(conn: Connection, workspace_id: str, source_id: str) -> Source:
    row = (
        conn.execute(
            select(sources).where(sources.c.workspace_id == workspace_id, sources.c.id == source_id)
        )
        .mappings()
        .first()
    )
    if not row:
        raise NotFound(f"no source {source_id}", field="source_id")
    return Source.model_validate(dict(row))


@action(
    "source.rotate_key",
    permission=Permission.manage_workspace,
    subject="source",
    subject_key="source_id",
)
def rotate_write_key(
    conn: Connection, *, workspace_id: str, source_id: str, now: datetime, actor: Actor
) -> Source:
    """Give the source a new write key; the old one stops working at once."""
    source = _source_row(conn, workspace_id, source_id)
    key = secrets.token_urlsafe(24)
    conn.execute(sources.update().where(sources.c.id == source_id).values(write_key=key))
    describe(details={"name": source.name})
    return source.model_copy(update={"write_key": key})


@action(
    "source.set_enabled",
    permission=Permission.manage_workspace,
    subject="source",
    subject_key="source_id",
)
def set_source_enabled(
    conn: Connection,
    *,
    workspace_id: str,
    source_id: str,
    enabled: bool,
    now: datetime,
    actor: Actor,
) -> Source:
    """Disable a source (its write key is refused from then on) or enable it again."""
    source = _source_row(conn, workspace_id, source_id)
    disabled_at = None if enabled else now
    conn.execute(sources.update().where(sources.c.id == source_id).values(disabled_at=disabled_at))
    describe(before={"enabled": source.disabled_at is None}, after={"enabled": enabled})
    return source.model_copy(update={"disabled_at": disabled_at})


def workspace_by_name(conn: Connection, *, name: str) -> Workspace:
    """The workspace called ``name``; raises ``NotFound``."""
    row = conn.execute(select(workspaces).where(workspaces.c.name == name)).mappings().first()
    if not row:
        raise NotFound(f"no workspace named {name!r}", field="workspace")
    return Workspace.model_validate(dict(row))


def get_workspace(conn: Connection, *, workspace_id: str) -> Workspace:
    row = conn.execute(select(workspaces).where(workspaces.c.id == workspace_id)).mappings().first()
    if not row:
        raise NotFound(f"no workspace {workspace_id}", field="workspace_id")
    return Workspace.model_validate(dict(row))
