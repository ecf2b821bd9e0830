"""Bulk profile import from CSV rows: identifiers link to existing profiles, other columns are
traits. Rows are idempotent by a content hash; bad rows are rejected with a reason.

Import never merges two existing profiles (only the resolver does that, from events): a row
attaches to the profile of its first known identifier (user_id, anonymous_id, external ids,
email, phone); identifiers held by another profile stay there; a row whose user_id differs from
the found profile's user_id starts a new profile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from partitur.core import jsonutil
from partitur.core.ids import new_id
from partitur.identity import service as identity
from partitur.profiles import repository as repo
from partitur.profiles.contracts import ProfileState
from partitur.profiles.tables import profile_imports
from partitur.profiles.traits import apply_traits

ID_COLUMNS = ("user_id", "anonymous_id", "email", "phone")


@dataclass(frozen=True)
class ProfileRow:
    line: int
    identifiers: tuple[identity.Identifier, ...]
    traits: dict[str, Any]
    row_hash: str


@dataclass
class ImportTally:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)


def parse_row(
    line: int,
    record: Mapping[str, str | None],
    *,
    external_columns: Mapping[str, str],
    blocklist: identity.Blocklist,
) -> ProfileRow:
    """Turn one CSV record into identifiers and traits; raises ``ValueError`` with the reason."""
    identifiers: list[identity.Identifier] = []
    traits: dict[str, Any] = {}
    for column, raw in record.items():
        if column is None:
            raise ValueError("more cells than columns")
        value = (raw or "").strip() if isinstance(raw, str) else raw
        if value in ("", None):
            continue
        if column in ID_COLUMNS:
            if column == "email":
                normal = identity.normalise_email(value)
            elif column == "phone":
                normal = identity.normalise_phone(value)
            else:
                normal = identity.normalise_id(value)
            if normal is None:
                raise ValueError(f"{column} is not valid: {value!r}")
            if not blocklist.blocks(normal):
                identifiers.append((column, normal))
            if column in ("email", "phone"):
                traits[column] = value
        elif column in external_columns:
            normal = identity.normalise_id(value)
            if normal is not None and not blocklist.blocks(normal):
                identifiers.append((external_columns[column], normal))
            traits[column] = value
        else:
            traits[column] = value
    if not identifiers:
        raise ValueError(
            "no usable identifier (user_id, anonymous_id, email, phone or external id)"
        )
    order = {"user_id": 0, "anonymous_id": 1, "email": 3, "phone": 4}
    identifiers.sort(key=lambda i: order.get(i[0], 2))
    digest = hashlib.sha256(
        jsonutil.dumps([sorted(identifiers), sorted(traits.items())])
    ).hexdigest()
    return ProfileRow(line=line, identifiers=tuple(identifiers), traits=traits, row_hash=digest)


def import_rows(
    conn: Connection,
    *,
    workspace_id: str,
    rows: Sequence[ProfileRow],
    source: str,
    now: datetime,
    tally: ImportTally,
) -> None:
    """Apply parsed rows in the caller's transaction (one chunk of a file)."""
    hashes = [r.row_hash for r in rows]
    done = {
        h
        for (h,) in conn.execute(
            select(profile_imports.c.row_hash).where(
                profile_imports.c.workspace_id == workspace_id,
                profile_imports.c.row_hash.in_(hashes),
            )
        )
    }
    for row in rows:
        if row.row_hash in done:
            tally.skipped += 1
            continue
        done.add(row.row_hash)
        _import_one(conn, workspace_id=workspace_id, row=row, source=source, now=now, tally=tally)


def _import_one(
    conn: Connection,
    *,
    workspace_id: str,
    row: ProfileRow,
    source: str,
    now: datetime,
    tally: ImportTally,
) -> None:
    owners = {
        ident: identity.profile_for_identity(
            conn, workspace_id=workspace_id, kind=ident[0], value=ident[1]
        )
        for ident in row.identifiers
    }
    user_ids = [v for k, v in row.identifiers if k == "user_id"]
    profile_id = next((p for p in owners.values() if p is not None), None)
    if profile_id is not None and user_ids:
        held = identity.limited_values(conn, profile_ids=[profile_id], kinds=["user_id"])
        theirs = held.get(profile_id, {}).get("user_id", set())
        if theirs and user_ids[0] not in theirs:
            profile_id = None  # a second, different user_id: a new profile (per-type limit)
    if profile_id is None:
        state = ProfileState(id=new_id("prf"), workspace_id=workspace_id, created_at=now)
        history = apply_traits(state, row.traits, at=now, source=source)
        repo.insert_states(conn, [state], now)
        tally.created += 1
    else:
        state = repo.load_states(conn, [profile_id])[profile_id]
        history = apply_traits(state, row.traits, at=now, source=source)
        if state.dirty:
            repo.update_states(conn, [state], now)
        tally.updated += 1
    repo.insert_history(conn, history)
    # identifiers held by another profile stay there: import never merges
    fresh = [(k, v, state.id) for (k, v), owner in owners.items() if owner is None]
    identity.insert_identities(conn, workspace_id=workspace_id, rows=fresh, now=now)
    conn.execute(
        profile_imports.insert().values(
            workspace_id=workspace_id, row_hash=row.row_hash, profile_id=state.id, imported_at=now
        )
    )


def external_columns_for(columns: Iterable[str], configured: Iterable[str]) -> dict[str, str]:
    wanted = {c.lower() for c in configured}
    return {c: f"external:{c.lower()}" for c in columns if c.lower() in wanted}
