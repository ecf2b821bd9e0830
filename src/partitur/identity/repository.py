"""Queries on the identity graph, merges and the suppression list (bulk, via scratch tables)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, text

from partitur.core import jsonutil
from partitur.identity.extract import Identifier
from partitur.identity.graph import Merge
from partitur.identity.tables import identities, identity_merges, suppressed_identifiers
from partitur.storage import driver
from partitur.storage.bulk import db_time, insert_rows, rebuilt_indexes, temp_table


def existing_identities(
    conn: Connection, *, workspace_id: str, keys: Sequence[Identifier]
) -> dict[Identifier, str]:
    """Which of ``keys`` are known already, and to which profile."""
    if not keys:
        return {}
    temp_table(conn, "tmp_identity_keys", "kind VARCHAR(64), value VARCHAR(255)")
    insert_rows(conn, "tmp_identity_keys", ("kind", "value"), keys)
    found = driver.rows(
        conn,
        driver.sql(
            conn,
            "SELECT i.kind, i.value, i.profile_id FROM identities i "
            "JOIN tmp_identity_keys k ON i.kind = k.kind AND i.value = k.value "
            "WHERE i.workspace_id = ?",
        ),
        (workspace_id,),
    )
    return {(kind, value): profile_id for kind, value, profile_id in found}


def profiles_with_identities(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> set[str]:
    """Which of ``profile_ids`` hold identities in the workspace (live, resolved profiles:
    a merge moves the identities of the merged profile to the survivor)."""
    found: set[str] = set()
    ids = sorted(set(profile_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            text(
                "SELECT DISTINCT profile_id FROM identities WHERE workspace_id = :ws "
                f"AND profile_id IN ({', '.join(f':p{n}' for n in range(len(chunk)))})"
            ),
            {"ws": workspace_id, **{f"p{n}": pid for n, pid in enumerate(chunk)}},
        )
        found |= {r[0] for r in rows}
    return found


def limited_values(
    conn: Connection, *, profile_ids: Iterable[str], kinds: Iterable[str]
) -> dict[str, dict[str, set[str]]]:
    """The values of the limited kinds each profile holds."""
    ids = sorted(set(profile_ids))
    wanted = list(kinds)
    out: dict[str, dict[str, set[str]]] = {}
    if not ids or not wanted:
        return out
    temp_table(conn, "tmp_limited_profiles", "id VARCHAR(40) PRIMARY KEY")
    insert_rows(conn, "tmp_limited_profiles", ("id",), [(i,) for i in ids])
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    rows = driver.rows(
        conn,
        "SELECT profile_id, kind, value FROM identities "
        "WHERE profile_id IN (SELECT id FROM tmp_limited_profiles) "
        f"AND kind IN ({', '.join(mark for _ in wanted)})",
        tuple(wanted),
    )
    for profile_id, kind, value in rows:
        held = out.get(profile_id)
        if held is None:
            out[profile_id] = {kind: {value}}
        else:
            held.setdefault(kind, set()).add(value)
    return out


def insert_identities(
    conn: Connection,
    *,
    workspace_id: str,
    rows: Sequence[tuple[str, str, str]],
    now: datetime,
) -> None:
    """New (kind, value, profile_id) rows."""
    if not rows:
        return
    at = db_time(conn, now)
    # as many as there were already: ix_identities_profile built afresh (see rebuilt_indexes)
    with rebuilt_indexes(conn, "identities", _PROFILE_INDEX, rows=len(rows), adds=True):
        insert_rows(
            conn,
            "identities",
            ("kind", "value", "profile_id"),
            rows,
            same={"workspace_id": workspace_id, "first_seen_at": at, "last_seen_at": at},
        )


_PROFILE_INDEX = sorted(str(index.name) for index in identities.indexes)


def touch_identities(conn: Connection, *, workspace_id: str, now: datetime) -> None:
    """Mark the identities staged in ``tmp_identity_keys`` as seen ``now``."""
    conn.execute(
        text(
            "UPDATE identities SET last_seen_at = :now WHERE workspace_id = :ws "
            "AND (kind, value) IN (SELECT kind, value FROM tmp_identity_keys)"
        ).bindparams(bindparam("now", type_=identities.c.last_seen_at.type)),
        {"now": now, "ws": workspace_id},
    )


def repoint_identities(conn: Connection, moves: Mapping[str, str]) -> None:
    """Move the identifiers of each merged profile (key) to its survivor (value)."""
    if not moves:
        return
    temp_table(conn, "tmp_identity_moves", "old_id VARCHAR(40) PRIMARY KEY, new_id VARCHAR(40)")
    insert_rows(conn, "tmp_identity_moves", ("old_id", "new_id"), list(moves.items()))
    if conn.dialect.name == "sqlite":
        # driven from the moves through ix_identities_profile, never a scan of the graph
        conn.exec_driver_sql(
            "UPDATE identities SET profile_id = (SELECT m.new_id FROM tmp_identity_moves m "
            "WHERE m.old_id = identities.profile_id) "
            "WHERE profile_id IN (SELECT old_id FROM tmp_identity_moves)"
        )
        return
    conn.exec_driver_sql(
        "UPDATE identities SET profile_id = m.new_id "
        "FROM tmp_identity_moves m WHERE identities.profile_id = m.old_id"
    )


def record_merges(
    conn: Connection, *, workspace_id: str, merges: Sequence[Merge], now: datetime
) -> None:
    at = db_time(conn, now)
    insert_rows(
        conn,
        "identity_merges",
        ("workspace_id", "survivor_id", "merged_id", "merged_at", "reason", "event_seq"),
        [
            (
                workspace_id,
                m.survivor_id,
                m.merged_id,
                at,
                jsonutil.dumps_str(m.reason) if m.reason is not None else None,
                m.event_seq,
            )
            for m in merges
        ],
    )


def has_suppressions(conn: Connection, *, workspace_id: str) -> bool:
    return (
        conn.execute(
            select(suppressed_identifiers.c.kind)
            .where(suppressed_identifiers.c.workspace_id == workspace_id)
            .limit(1)
        ).first()
        is not None
    )


def suppressed_among(
    conn: Connection, *, workspace_id: str, hashes: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (kind, value_hash) pairs are on the suppression list."""
    if not hashes:
        return set()
    temp_table(conn, "tmp_identity_hashes", "kind VARCHAR(64), value_hash VARCHAR(64)")
    insert_rows(conn, "tmp_identity_hashes", ("kind", "value_hash"), hashes)
    rows = conn.execute(
        text(
            "SELECT s.kind, s.value_hash FROM suppressed_identifiers s "
            "JOIN tmp_identity_hashes h ON s.kind = h.kind AND s.value_hash = h.value_hash "
            "WHERE s.workspace_id = :ws"
        ),
        {"ws": workspace_id},
    )
    return {(r[0], r[1]) for r in rows}


def count_dropped(
    conn: Connection, *, workspace_id: str, counts: Mapping[tuple[str, str], int]
) -> None:
    if counts:
        conn.execute(
            suppressed_identifiers.update()
            .where(
                suppressed_identifiers.c.workspace_id == workspace_id,
                suppressed_identifiers.c.kind == bindparam("b_kind"),
                suppressed_identifiers.c.value_hash == bindparam("b_hash"),
            )
            .values(dropped_count=suppressed_identifiers.c.dropped_count + bindparam("b_n")),
            [{"b_kind": k, "b_hash": h, "b_n": n} for (k, h), n in counts.items()],
        )


def suppress(
    conn: Connection, *, workspace_id: str, hashes: Iterable[tuple[str, str]], now: datetime
) -> int:
    """Add (kind, value_hash) pairs to the suppression list (existing ones stay)."""
    wanted = sorted(set(hashes))
    if not wanted:
        return 0
    known = suppressed_among(conn, workspace_id=workspace_id, hashes=wanted)
    fresh = [h for h in wanted if h not in known]
    if fresh:
        conn.execute(
            suppressed_identifiers.insert(),
            [
                {
                    "workspace_id": workspace_id,
                    "kind": kind,
                    "value_hash": value_hash,
                    "erased_at": now,
                    "dropped_count": 0,
                }
                for kind, value_hash in fresh
            ],
        )
    return len(wanted)


def suppression_rows(conn: Connection, *, workspace_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            select(suppressed_identifiers).where(
                suppressed_identifiers.c.workspace_id == workspace_id
            )
        ).mappings()
    ]


# -- one profile's identities and merges (profile 360, lookups, export and erasure) --------------


def identities_of(conn: Connection, profile_id: str) -> dict[str, list[str]]:
    rows = conn.execute(
        select(identities.c.kind, identities.c.value)
        .where(identities.c.profile_id == profile_id)
        .order_by(identities.c.kind, identities.c.first_seen_at, identities.c.value)
    )
    out: dict[str, list[str]] = {}
    for kind, value in rows:
        out.setdefault(kind, []).append(value)
    return out


def profile_for_identity(
    conn: Connection, *, workspace_id: str, kind: str, value: str
) -> str | None:
    row = conn.execute(
        select(identities.c.profile_id).where(
            identities.c.workspace_id == workspace_id,
            identities.c.kind == kind,
            identities.c.value == value,
        )
    ).first()
    return row[0] if row else None


def merges_of(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            select(identity_merges)
            .where(
                (identity_merges.c.survivor_id == profile_id)
                | (identity_merges.c.merged_id == profile_id)
            )
            .order_by(identity_merges.c.id)
        ).mappings()
    ]


def erase_identities(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> dict[str, int]:
    ids = list(profile_ids)
    identities_erased = conn.execute(
        delete(identities).where(
            identities.c.workspace_id == workspace_id, identities.c.profile_id.in_(ids)
        )
    ).rowcount
    merges_erased = conn.execute(
        delete(identity_merges).where(
            identity_merges.c.survivor_id.in_(ids) | identity_merges.c.merged_id.in_(ids)
        )
    ).rowcount
    return {"identities": int(identities_erased), "merges": int(merges_erased)}


def first_user_ids(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for profile_id, value in conn.execute(
        select(identities.c.profile_id, identities.c.value)
        .where(
            identities.c.workspace_id == workspace_id,
            identities.c.kind == "user_id",
            identities.c.profile_id.in_(list(profile_ids)),
        )
        .order_by(identities.c.first_seen_at, identities.c.value)
    ):
        found.setdefault(profile_id, value)
    return found
