"""The model registry: versioned artefacts under ``var_dir/models`` with metadata rows and
one active version per model name."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import NotFound, ValidationFailed
from partitur.ml.contracts import ModelVersion
from partitur.ml.tables import ml_models


def _to_version(row: Any) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=row.version,
        kind=row.kind,
        created_at=row.created_at,
        active=bool(row.active),
        params=row.params or {},
        metrics=row.metrics or {},
        artifact=row.artifact,
    )


def artifact_dir(var_dir: Path, workspace_id: str, name: str, version: int) -> Path:
    return Path(var_dir) / "models" / workspace_id / name / f"v{version}"


@action("model.register", permission=Permission.manage_models, subject="model", subject_key="name")
def register_model(
    conn: Connection,
    *,
    workspace_id: str,
    name: str,
    kind: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    files: dict[str, bytes],
    var_dir: Path,
    now: datetime,
    activate: bool = True,
    actor: Actor,
) -> ModelVersion:
    """Store a new version (artefact files and metadata); optionally make it the active one."""
    if not name or len(name) > 100 or not name.replace("_", "").replace("-", "").isalnum():
        raise ValidationFailed("model names are letters, digits, - and _", field="name")
    current = conn.execute(
        select(func.max(ml_models.c.version)).where(
            ml_models.c.workspace_id == workspace_id, ml_models.c.name == name
        )
    ).scalar()
    version = int(current or 0) + 1
    directory = artifact_dir(var_dir, workspace_id, name, version)
    directory.mkdir(parents=True, exist_ok=True)
    for filename, content in files.items():
        (directory / filename).write_bytes(content)
    if activate:
        conn.execute(
            update(ml_models)
            .where(ml_models.c.workspace_id == workspace_id, ml_models.c.name == name)
            .values(active=False)
        )
    conn.execute(
        ml_models.insert().values(
            workspace_id=workspace_id,
            name=name,
            version=version,
            kind=kind,
            created_at=now,
            active=activate,
            params=params,
            metrics=metrics,
            artifact=str(directory.relative_to(Path(var_dir))),
        )
    )
    describe(subject_id=f"{name}@{version}", details={"kind": kind, "active": activate})
    return get_version(conn, workspace_id=workspace_id, name=name, version=version)


def get_version(
    conn: Connection, *, workspace_id: str, name: str, version: int | None = None
) -> ModelVersion:
    """A given version, or the active one when ``version`` is None. Raises ``NotFound``."""
    query = select(ml_models).where(
        ml_models.c.workspace_id == workspace_id, ml_models.c.name == name
    )
    query = (
        query.where(ml_models.c.version == version)
        if version is not None
        else query.where(ml_models.c.active.is_(True))
    )
    row = conn.execute(query).first()
    if row is None:
        if version is not None and list_versions(conn, workspace_id=workspace_id, name=name):
            raise NotFound(f"model {name} has no version {version}", field="version")
        which = f"version {version}" if version is not None else "an active version"
        raise NotFound(f"model {name} has no {which}", field="name")
    return _to_version(row)


def list_versions(
    conn: Connection, *, workspace_id: str, name: str | None = None
) -> list[ModelVersion]:
    query = select(ml_models).where(ml_models.c.workspace_id == workspace_id)
    if name is not None:
        query = query.where(ml_models.c.name == name)
    rows = conn.execute(query.order_by(ml_models.c.name, ml_models.c.version)).all()
    return [_to_version(r) for r in rows]


@action("model.activate", permission=Permission.manage_models, subject="model", subject_key="name")
def activate_version(
    conn: Connection, *, workspace_id: str, name: str, version: int, now: datetime, actor: Actor
) -> ModelVersion:
    """Make ``version`` the active one (roll forward or back). Raises ``NotFound``."""
    get_version(conn, workspace_id=workspace_id, name=name, version=version)
    conn.execute(
        update(ml_models)
        .where(ml_models.c.workspace_id == workspace_id, ml_models.c.name == name)
        .values(active=ml_models.c.version == version)
    )
    describe(subject_id=f"{name}@{version}")
    return get_version(conn, workspace_id=workspace_id, name=name, version=version)


def read_artifact(var_dir: Path, model: ModelVersion, filename: str) -> bytes:
    if model.artifact is None:
        raise NotFound(f"model {model.name}@{model.version} has no artefacts", field="name")
    path = Path(var_dir) / model.artifact / filename
    if not path.is_file():
        raise NotFound(f"artefact {filename} of {model.name}@{model.version} is missing")
    return path.read_bytes()
