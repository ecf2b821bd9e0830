"""Queries on profiles and their trait history (bulk where identity resolution needs it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, select, text

from partitur.core import jsonutil
from partitur.core.types import UtcDateTime, utc_from_db, utc_moment
from partitur.profiles.contracts import (
    HistoryRow,
    HistoryRows,
    ProfileActivity,
    ProfileRows,
    ProfileSnapshot,
    ProfileState,
    StateColumns,
)
from partitur.profiles.tables import profile_imports, profiles, trait_history
from partitur.profiles.traits import LOCALE_WIDTH, TIMEZONE_WIDTH, place_value, stamp
from partitur.storage import driver
from partitur.storage.bulk import (
    db_time,
    db_times,
    insert_columns,
    insert_rows,
    rebuilt_indexes,
    temp_table,
)


def load_states(conn: Connection, ids: Iterable[str]) -> dict[str, ProfileState]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    temp_table(conn, "tmp_profile_ids", "id VARCHAR(40) PRIMARY KEY")
    insert_rows(conn, "tmp_profile_ids", ("id",), [(i,) for i in wanted])
    cols = (
        "id, workspace_id, created_at, traits, trait_times, computed, first_seen_at, "
        "last_seen_at, timezone, locale"
    )
    rows = driver.rows(
        conn, f"SELECT {cols} FROM profiles WHERE id IN (SELECT id FROM tmp_profile_ids)", ()
    )
    out: dict[str, ProfileState] = {}
    for pid, ws, created, traits, times, computed, first, last, tz, locale in rows:
        out[pid] = ProfileState(
            id=pid,
            workspace_id=ws,
            created_at=utc_moment(created),
            traits=_doc(traits),
            trait_times=_doc(times),
            computed=_doc(computed),
            first_seen_at=utc_from_db(first),
            last_seen_at=utc_from_db(last),
            timezone=tz,
            locale=locale,
        )
    return out


def _doc(raw: Any) -> dict[str, Any]:
    value = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return dict(value) if isinstance(value, dict) else {}


_json = jsonutil.dumps_str


_UPDATED_COLUMNS = (
    "traits",
    "trait_times",
    "computed",
    "first_seen_at",
    "last_seen_at",
    "timezone",
    "locale",
)


def state_columns(states: Sequence[ProfileState], dialect: str) -> StateColumns:
    """The states' updatable columns, formatted for the engine ``dialect``."""
    time = db_times(dialect)
    return StateColumns(
        ids=[s.id for s in states],
        traits=[_json(s.traits) for s in states],
        trait_times=[_json(s.trait_times) for s in states],
        computed=[_json(s.computed) for s in states],
        first_seen_at=[time(s.first_seen_at) for s in states],
        last_seen_at=[time(s.last_seen_at) for s in states],
        timezones=[s.timezone for s in states],
        locales=[s.locale for s in states],
    )


def profile_rows(
    *, new: Sequence[ProfileState], changed: Sequence[ProfileState], now: datetime, dialect: str
) -> ProfileRows:
    """New and changed profiles formatted for ``insert_profiles`` and ``update_profiles``."""
    time = db_times(dialect)
    at = time(now)
    return ProfileRows(
        new=state_columns(new, dialect),
        new_workspace_ids=[s.workspace_id for s in new],
        # most new profiles are made by the pass that writes them, at its ``now``
        new_created_at=[at if s.created_at is now else time(s.created_at) for s in new],
        changed=state_columns(changed, dialect),
    )


def insert_profiles(conn: Connection, rows: ProfileRows, now: datetime) -> None:
    """Insert the new profiles of ``rows`` (bulk, straight through the driver; as many as
    there were already with the secondary indexes built afresh, see ``rebuilt_indexes``)."""
    new = rows.new
    n = len(new.ids)
    if not n:
        return
    at = db_time(conn, now)
    columns = {
        "id": new.ids,
        "workspace_id": rows.new_workspace_ids,
        "created_at": rows.new_created_at,
        "updated_at": [at] * n,
        "merged_into": [None] * n,
        "traits": new.traits,
        "trait_times": new.trait_times,
        "computed": new.computed,
        "first_seen_at": new.first_seen_at,
        "last_seen_at": new.last_seen_at,
        "timezone": new.timezones,
        "locale": new.locales,
        "is_test": [False] * n,
    }
    with rebuilt_indexes(conn, "profiles", _PROFILE_INDEXES, rows=n, adds=True):
        insert_columns(conn, "profiles", columns)


_PROFILE_INDEXES = sorted(str(index.name) for index in profiles.indexes)


def insert_states(conn: Connection, states: Sequence[ProfileState], now: datetime) -> None:
    rows = profile_rows(new=states, changed=(), now=now, dialect=conn.dialect.name)
    insert_profiles(conn, rows, now)


def update_profiles(conn: Connection, changed: StateColumns, now: datetime) -> None:
    """Write changed profiles back (bulk)."""
    if not changed.ids:
        return
    at = db_time(conn, now)
    values = (
        changed.traits,
        changed.trait_times,
        changed.computed,
        changed.first_seen_at,
        changed.last_seen_at,
        changed.timezones,
        changed.locales,
    )
    if conn.dialect.name == "sqlite":
        # staged, then one statement (it runs without the GIL beside a background writer's
        # caller; executemany would need it for every row)
        temp_table(
            conn,
            "tmp_profile_updates",
            "id VARCHAR(40) PRIMARY KEY, traits TEXT, trait_times TEXT, computed TEXT, "
            "first_seen_at TEXT, last_seen_at TEXT, timezone VARCHAR(64), locale VARCHAR(16)",
        )
        insert_columns(
            conn,
            "tmp_profile_updates",
            dict(zip(("id", *_UPDATED_COLUMNS), (changed.ids, *values), strict=True)),
        )
        conn.exec_driver_sql(
            f"UPDATE profiles SET ({', '.join(_UPDATED_COLUMNS)}, updated_at) = "
            f"(SELECT {', '.join(f'u.{c}' for c in _UPDATED_COLUMNS)}, ? "
            "FROM tmp_profile_updates u WHERE u.id = profiles.id) "
            "WHERE id IN (SELECT id FROM tmp_profile_updates)",
            (at,),
        )
        return
    conn.exec_driver_sql(
        "UPDATE profiles SET traits = %s::jsonb, trait_times = %s::jsonb, "
        "computed = %s::jsonb, first_seen_at = %s, last_seen_at = %s, "
        "timezone = %s, locale = %s, updated_at = %s WHERE id = %s",
        list(zip(*values, [at] * len(changed.ids), changed.ids, strict=True)),
    )


def update_states(conn: Connection, states: Sequence[ProfileState], now: datetime) -> None:
    update_profiles(conn, state_columns(states, conn.dialect.name), now)


def mark_merged(conn: Connection, moves: Mapping[str, str], now: datetime) -> None:
    """Point merged profiles (keys) at their survivors and empty their traits and counts
    (``traits.merge_states`` moved them); earlier redirects follow along.

    Set-based: the moves are staged once and each change is one ``UPDATE ... FROM``."""
    if not moves:
        return
    temp_table(conn, "tmp_profile_moves", "old_id VARCHAR(40) PRIMARY KEY, new_id VARCHAR(40)")
    insert_rows(conn, "tmp_profile_moves", ("old_id", "new_id"), list(moves.items()))
    # a merged profile keeps no traits or counts of its own: they went to the survivor
    empty = "'{}'" if conn.dialect.name == "sqlite" else "'{}'::jsonb"
    conn.execute(
        text(
            f"UPDATE profiles SET merged_into = m.new_id, traits = {empty}, "
            f"trait_times = {empty}, computed = {empty}, updated_at = :now "
            "FROM tmp_profile_moves m WHERE profiles.id = m.old_id"
        ).bindparams(bindparam("now", type_=UtcDateTime)),
        {"now": now},
    )
    for table, column in (("profiles", "merged_into"), ("trait_history", "profile_id")):
        conn.exec_driver_sql(_move_sql(conn, table, column, "tmp_profile_moves"))


def _move_sql(conn: Connection, table: str, column: str, moves: str) -> str:
    """``UPDATE`` setting ``column`` from old_id to new_id as staged in ``moves``. SQLite is
    driven from the (small) moves table through the column's index, never a scan."""
    if conn.dialect.name == "sqlite":
        return (
            f"UPDATE {table} SET {column} = (SELECT m.new_id FROM {moves} m "
            f"WHERE m.old_id = {table}.{column}) "
            f"WHERE {column} IN (SELECT old_id FROM {moves})"
        )
    return (
        f"UPDATE {table} SET {column} = m.new_id FROM {moves} m WHERE {table}.{column} = m.old_id"
    )


def history_rows(history: Sequence[HistoryRow], dialect: str) -> HistoryRows:
    """Trait history formatted for ``insert_history_rows``, in the order given."""
    time = db_times(dialect)
    changed_at: list[Any] = []
    at: datetime | None = None
    at_db: Any = None
    for h in history:
        if h.changed_at is not at:  # the traits of one message share their time
            at, at_db = h.changed_at, time(h.changed_at)
        changed_at.append(at_db)
    return HistoryRows(
        profile_ids=[h.profile_id for h in history],
        traits=[h.trait for h in history],
        values=[_json(h.value) for h in history],
        changed_at=changed_at,
        sources=[h.source for h in history],
    )


def insert_history_rows(conn: Connection, rows: HistoryRows) -> None:
    insert_columns(
        conn,
        "trait_history",
        {
            "profile_id": rows.profile_ids,
            "trait": rows.traits,
            "value": rows.values,
            "changed_at": rows.changed_at,
            "source": rows.sources,
        },
    )


def insert_history(conn: Connection, rows: Sequence[HistoryRow]) -> None:
    insert_history_rows(conn, history_rows(rows, conn.dialect.name))


def _place_newer(column: str, dialect: str) -> str:
    """SQL: the staged ``locale``/``timezone`` is set at least as late as the profile's own
    (``trait_times['@locale']``, ISO 8601 text: compared bytewise, as ``apply_place`` does)."""
    if dialect == "sqlite":
        held = f"COALESCE(json_extract(profiles.trait_times, '$.\"@{column}\"'), '')"
    else:
        held = f"COALESCE(p.trait_times->>'@{column}', '') COLLATE \"C\""
    return f"(a.{column} IS NOT NULL AND {held} <= a.{column}_at)"


_locale_times = (
    f"(CASE WHEN {_place_newer('locale', 'sqlite')} "
    "THEN json_set(profiles.trait_times, '$.\"@locale\"', a.locale_at) "
    "ELSE profiles.trait_times END)"
)


def apply_activity(conn: Connection, activity: ProfileActivity, now: datetime) -> None:
    """Add a batch's activity to the profiles' computed traits, and take its locale and
    timezone where they are newer than the profile's (the set-based twin of
    ``traits.fold_activity`` and ``traits.apply_place``): staged, then one ``UPDATE``."""
    if not len(activity):
        return
    moment = "TEXT" if conn.dialect.name == "sqlite" else "TIMESTAMPTZ"
    temp_table(
        conn,
        "tmp_profile_activity",
        f"profile_id VARCHAR(40) PRIMARY KEY, n BIGINT, first_ts {moment}, last_ts {moment}, "
        "orders BIGINT, revenue DOUBLE PRECISION, last_channel VARCHAR(200), "
        "locale VARCHAR(16), locale_at VARCHAR(40), timezone VARCHAR(64), timezone_at VARCHAR(40)",
    )
    insert_columns(
        conn,
        "tmp_profile_activity",
        {
            "profile_id": activity.profile_ids,
            "n": activity.events,
            # timestamps as the driver returned them: compared with the stored ones as they are
            "first_ts": activity.first_ts,
            "last_ts": activity.last_ts,
            "orders": activity.orders,
            "revenue": activity.revenue,
            "last_channel": activity.channels,
            "locale": [place_value(v, LOCALE_WIDTH) for v in activity.locales],
            "locale_at": [_set_at(ts) for ts in activity.locale_ts],
            "timezone": [place_value(v, TIMEZONE_WIDTH) for v in activity.timezones],
            "timezone_at": [_set_at(ts) for ts in activity.timezone_ts],
        },
    )
    _apply_staged_activity(conn, table="tmp_profile_activity", now=now)


def _set_at(raw: Any) -> str | None:
    """When a locale or timezone was set, as ``trait_times`` keeps it (``traits.stamp``)."""
    return None if raw is None else stamp(utc_moment(raw))


def _apply_staged_activity(conn: Connection, *, table: str, now: datetime) -> None:
    """The ``UPDATE`` of ``apply_activity`` from the activity staged in ``table``."""
    if conn.dialect.name == "sqlite":
        conn.execute(
            text(
                f"""
                UPDATE profiles SET
                  first_seen_at = CASE WHEN profiles.first_seen_at IS NULL
                      OR a.first_ts < profiles.first_seen_at THEN a.first_ts
                      ELSE profiles.first_seen_at END,
                  last_seen_at = CASE WHEN profiles.last_seen_at IS NULL
                      OR a.last_ts > profiles.last_seen_at THEN a.last_ts
                      ELSE profiles.last_seen_at END,
                  computed = json_set(profiles.computed,
                      '$.event_count',
                      COALESCE(json_extract(profiles.computed, '$.event_count'), 0) + a.n,
                      '$.order_count',
                      COALESCE(json_extract(profiles.computed, '$.order_count'), 0) + a.orders,
                      '$.revenue', ROUND(
                      COALESCE(json_extract(profiles.computed, '$.revenue'), 0) + a.revenue, 2),
                      '$.last_channel', CASE WHEN profiles.last_seen_at IS NULL
                          OR a.last_ts >= profiles.last_seen_at THEN a.last_channel
                          ELSE json_extract(profiles.computed, '$.last_channel') END),
                  locale = CASE WHEN {_place_newer("locale", "sqlite")} THEN a.locale
                      ELSE profiles.locale END,
                  timezone = CASE WHEN {_place_newer("timezone", "sqlite")} THEN a.timezone
                      ELSE profiles.timezone END,
                  trait_times = CASE WHEN {_place_newer("timezone", "sqlite")}
                      THEN json_set({_locale_times}, '$."@timezone"', a.timezone_at)
                      ELSE {_locale_times} END,
                  updated_at = :now
                FROM {table} a WHERE profiles.id = a.profile_id
                """
            ).bindparams(bindparam("now", type_=UtcDateTime)),
            {"now": now},
        )
        return
    conn.execute(
        text(
            f"""
            UPDATE profiles p SET
              first_seen_at = LEAST(COALESCE(p.first_seen_at, a.first_ts), a.first_ts),
              last_seen_at = GREATEST(COALESCE(p.last_seen_at, a.last_ts), a.last_ts),
              computed = p.computed || jsonb_build_object(
                  'event_count', COALESCE((p.computed->>'event_count')::bigint, 0) + a.n,
                  'order_count', COALESCE((p.computed->>'order_count')::bigint, 0) + a.orders,
                  'revenue', ROUND(COALESCE((p.computed->>'revenue')::numeric, 0)
                      + a.revenue::numeric, 2),
                  'last_channel', CASE WHEN p.last_seen_at IS NULL
                      OR a.last_ts >= p.last_seen_at THEN to_jsonb(a.last_channel)
                      ELSE p.computed->'last_channel' END),
              locale = CASE WHEN {_place_newer("locale", "pg")} THEN a.locale ELSE p.locale END,
              timezone = CASE WHEN {_place_newer("timezone", "pg")} THEN a.timezone
                  ELSE p.timezone END,
              trait_times = p.trait_times || jsonb_strip_nulls(jsonb_build_object(
                  '@locale', CASE WHEN {_place_newer("locale", "pg")} THEN a.locale_at END,
                  '@timezone', CASE WHEN {_place_newer("timezone", "pg")}
                      THEN a.timezone_at END)),
              updated_at = :now
            FROM {table} a WHERE p.id = a.profile_id
            """
        ).bindparams(bindparam("now", type_=UtcDateTime)),
        {"now": now},
    )


# -- single-profile reads ----------------------------------------------------------------------


def profile_row(conn: Connection, profile_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(profiles).where(profiles.c.id == profile_id)).mappings().first()
    return dict(row) if row is not None else None


def merged_ids(conn: Connection, profile_id: str) -> list[str]:
    rows = conn.execute(
        select(profiles.c.id).where(profiles.c.merged_into == profile_id).order_by(profiles.c.id)
    )
    return [r[0] for r in rows]


def history_of(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            select(trait_history)
            .where(trait_history.c.profile_id == profile_id)
            .order_by(trait_history.c.changed_at, trait_history.c.id)
        ).mappings()
    ]


def erase_rows(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> dict[str, int]:
    """Delete the profiles, their trait history and import records."""
    ids = list(profile_ids)
    counts = {
        "history": conn.execute(
            delete(trait_history).where(trait_history.c.profile_id.in_(ids))
        ).rowcount,
        "imports": conn.execute(
            delete(profile_imports).where(profile_imports.c.profile_id.in_(ids))
        ).rowcount,
        "profiles": conn.execute(
            delete(profiles).where(profiles.c.workspace_id == workspace_id, profiles.c.id.in_(ids))
        ).rowcount,
    }
    return {k: int(v) for k, v in counts.items()}


# -- snapshots other domains read ---------------------------------------------------------------

_SNAPSHOT_COLUMNS = (
    profiles.c.id,
    profiles.c.workspace_id,
    profiles.c.traits,
    profiles.c.computed,
    profiles.c.timezone,
    profiles.c.locale,
    profiles.c.is_test,
)
# The decision API reads one profile per request: SQL on the driver's cursor, written once.
_SNAPSHOT_SQL = (
    "SELECT id, workspace_id, traits, computed, timezone, locale, is_test, merged_into "
    "FROM profiles WHERE id = ?"
)


def _snapshot(row: Any) -> ProfileSnapshot:
    return ProfileSnapshot(
        id=row[0],
        workspace_id=row[1],
        traits=dict(row[2] or {}),
        computed=dict(row[3] or {}),
        timezone=row[4],
        locale=row[5],
        is_test=bool(row[6]),
    )


def merge_links(conn: Connection, profile_ids: Iterable[str]) -> dict[str, str | None]:
    """``merged_into`` of each known id (None for a live profile)."""
    ids = list(profile_ids)
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(profiles.c.id, profiles.c.merged_into).where(
                profiles.c.id.in_(ids[start : start + 500])
            )
        )
        found.update({pid: merged for pid, merged in rows})
    return found


def snapshot_rows(
    conn: Connection, *, workspace_id: str, profile_ids: Iterable[str]
) -> dict[str, ProfileSnapshot]:
    """Snapshots of the live profiles among ``profile_ids`` in the workspace."""
    ids = list(profile_ids)
    found: dict[str, ProfileSnapshot] = {}
    for start in range(0, len(ids), 500):
        # by id only: a workspace condition lets SQLite pick the workspace index and scan
        rows = conn.execute(
            select(*_SNAPSHOT_COLUMNS).where(
                profiles.c.id.in_(ids[start : start + 500]), profiles.c.merged_into.is_(None)
            )
        )
        for row in rows:
            if row[1] == workspace_id:
                found[row[0]] = _snapshot(row)
    return found


def snapshot_row(conn: Connection, profile_id: str) -> tuple[ProfileSnapshot, str | None] | None:
    """One profile's snapshot and the id it was merged into (None while live)."""
    found = driver.rows(conn, driver.sql(conn, _SNAPSHOT_SQL), (profile_id,))
    if not found:
        return None
    row = found[0]
    values = (*row[:2], driver.json_value(row[2]), driver.json_value(row[3]), *row[4:7])
    return _snapshot(values), row[7]


def live_profile_page(
    conn: Connection, *, workspace_id: str, after: str, limit: int
) -> list[ProfileSnapshot]:
    rows = conn.execute(
        select(*_SNAPSHOT_COLUMNS)
        .where(
            profiles.c.workspace_id == workspace_id,
            profiles.c.merged_into.is_(None),
            profiles.c.id > after,
        )
        .order_by(profiles.c.id)
        .limit(limit)
    )
    return [_snapshot(r) for r in rows]


def workspaces_of(conn: Connection, profile_ids: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for start in range(0, len(profile_ids), 500):
        rows = conn.execute(
            select(profiles.c.id, profiles.c.workspace_id).where(
                profiles.c.id.in_(profile_ids[start : start + 500])
            )
        )
        result.update({pid: ws for pid, ws in rows})
    return result


def computed_of(
    conn: Connection, *, workspace_id: str, profile_ids: list[str]
) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        select(profiles.c.id, profiles.c.computed).where(
            profiles.c.id.in_(profile_ids), profiles.c.workspace_id == workspace_id
        )
    )
    return {pid: dict(computed or {}) for pid, computed in rows}


def trait_changes(conn: Connection, *, after: int, limit: int) -> tuple[int, set[str]]:
    """Profiles in trait history rows after id ``after`` (at most ``limit`` rows; gaps are
    skipped) and the last id read."""
    while True:
        upto = conn.execute(
            select(func.max(trait_history.c.id)).where(
                trait_history.c.id > after, trait_history.c.id <= after + limit
            )
        ).scalar()
        if upto is not None:
            break
        nxt = conn.execute(
            select(func.min(trait_history.c.id)).where(trait_history.c.id > after)
        ).scalar()
        if nxt is None:
            return after, set()
        after = int(nxt) - 1
    ids = conn.execute(
        select(trait_history.c.profile_id)
        .where(trait_history.c.id > after, trait_history.c.id <= upto)
        .distinct()
    ).scalars()
    return int(upto), set(ids)


# -- lists for people (search results, recently active) ------------------------------------------


def count_profiles(conn: Connection, *, workspace_id: str) -> int:
    """Profiles of the workspace that were not merged into another."""
    query = (
        select(func.count())
        .select_from(profiles)
        .where(profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None))
    )
    return int(conn.execute(query).scalar_one())


def recent_profile_ids(conn: Connection, *, workspace_id: str, limit: int) -> list[str]:
    """The most recently active profiles (not merged away), newest first."""
    rows = conn.execute(
        select(profiles.c.id)
        .where(profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None))
        .order_by(profiles.c.last_seen_at.desc())
        .limit(limit)
    ).scalars()
    return list(rows)


def summary_rows(
    conn: Connection, *, workspace_id: str, ids: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows of the given profiles (in the order of ``ids``, missing ones left out)."""
    if not ids:
        return []
    rows = conn.execute(
        select(
            profiles.c.id,
            profiles.c.traits,
            profiles.c.computed,
            profiles.c.last_seen_at,
            profiles.c.merged_into,
        ).where(profiles.c.workspace_id == workspace_id, profiles.c.id.in_(list(ids)))
    ).mappings()
    by_id = {r["id"]: dict(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]
