"""Unified profiles: read, look up, change traits, set computed traits, export and erase.

The bulk functions at the end (``load_states`` ... ``write_states``) are what identity
resolution uses to keep profiles current, one batch at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import NotFound, ValidationFailed
from partitur.events import resolution as event_log
from partitur.identity import repository as identity_repo
from partitur.identity.extract import normalise_email, normalise_id, normalise_phone, value_hash
from partitur.privacy.service import subject_history
from partitur.profiles import repository as repo
from partitur.profiles.contracts import (
    Erasure,
    HistoryRow,
    HistoryRows,
    Profile,
    ProfileActivity,
    ProfileExport,
    ProfileMerge,
    ProfileRows,
    ProfileState,
    TimelineEvent,
    TraitChange,
)
from partitur.profiles.importer import ImportTally, ProfileRow, external_columns_for, import_rows
from partitur.profiles.tables import profiles
from partitur.profiles.traits import apply_place, apply_traits, fold_activity, merge_states

__all__ = [
    "apply_activity",
    "apply_place",
    "apply_traits",
    "channel_addresses",
    "erase_profile",
    "export_profile",
    "find_profile",
    "fold_activity",
    "get_profile",
    "history_rows",
    "insert_history",
    "list_events",
    "list_merges",
    "load_states",
    "merge_states",
    "profile_rows",
    "set_computed",
    "update_traits",
    "write_profile_rows",
    "write_states",
]

LOOKUP_KINDS = ("user_id", "anonymous_id", "email", "phone")
_MAX_CHAIN = 50


def normalise_lookup(kind: str, value: str) -> str:
    """Normalise a looked-up value the way resolution stored it."""
    if kind == "email":
        out = normalise_email(value)
    elif kind == "phone":
        out = normalise_phone(value)
    else:
        out = normalise_id(value)
    if out is None:
        raise ValidationFailed(f"{value!r} is not a valid {kind}", field=kind)
    return out


def _resolve_id(conn: Connection, profile_id: str) -> Mapping[str, Any]:
    """The row of ``profile_id`` or of the profile it was merged into (followed to the end)."""
    row = repo.profile_row(conn, profile_id)
    hops = 0
    while row is not None and row["merged_into"] is not None and hops < _MAX_CHAIN:
        row = repo.profile_row(conn, row["merged_into"])
        hops += 1
    if row is None:
        raise NotFound(f"no profile {profile_id}", field="profile_id")
    return row


def _to_profile(conn: Connection, row: Mapping[str, Any], requested: str) -> Profile:
    computed = dict(row["computed"] or {})
    if row["first_seen_at"] is not None:
        computed["first_seen"] = row["first_seen_at"].isoformat()
    if row["last_seen_at"] is not None:
        computed["last_seen"] = row["last_seen_at"].isoformat()
    return Profile(
        id=row["id"],
        workspace_id=row["workspace_id"],
        traits=row["traits"] or {},
        computed=computed,
        timezone=row["timezone"],
        locale=row["locale"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        identities=repo.identities_of(conn, row["id"]),
        is_test=bool(row["is_test"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        requested_id=requested if requested != row["id"] else None,
        merged_from=repo.merged_ids(conn, row["id"]),
    )


def get_profile(conn: Connection, *, profile_id: str, workspace_id: str | None = None) -> Profile:
    """The profile, following merges to the survivor. Raises ``NotFound``."""
    row = _resolve_id(conn, profile_id)
    if workspace_id is not None and row["workspace_id"] != workspace_id:
        raise NotFound(f"no profile {profile_id}", field="profile_id")
    return _to_profile(conn, row, profile_id)


def find_profile(conn: Connection, *, workspace_id: str, kind: str, value: str) -> Profile:
    """The profile holding identifier ``kind``=``value``. Raises ``NotFound``."""
    if kind not in LOOKUP_KINDS and not kind.startswith("external:"):
        raise ValidationFailed(f"cannot look profiles up by {kind}", field="kind")
    normal = normalise_lookup(kind, value)
    profile_id = repo.profile_for_identity(conn, workspace_id=workspace_id, kind=kind, value=normal)
    if profile_id is None:
        raise NotFound(f"no profile with this {kind}", field=kind)
    return get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)


@action(
    "profile.update_traits",
    permission=Permission.edit_profiles,
    subject="profile",
    subject_key="profile_id",
)
def update_traits(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    traits: dict[str, Any],
    now: datetime,
    source: str,
    actor: Actor,
) -> Profile:
    """Set traits (``None`` values are kept as null); history rows and an audit row are kept."""
    if not isinstance(traits, dict) or not traits:
        raise ValidationFailed("traits must be a non-empty object", field="traits")
    for name in traits:
        if not name or len(name) > 200:
            raise ValidationFailed("trait names are 1-200 characters", field=f"traits.{name}")
    row = _resolve_id(conn, profile_id)
    if row["workspace_id"] != workspace_id:
        raise NotFound(f"no profile {profile_id}", field="profile_id")
    states = repo.load_states(conn, [row["id"]])
    state = states[row["id"]]
    history = apply_traits(state, traits, at=now, source=source)
    write_states(conn, new=[], changed=[state] if state.dirty else [], history=history, now=now)
    describe(subject_id=row["id"], details={"traits": sorted(traits), "source": source})
    return get_profile(conn, profile_id=row["id"])


def set_computed(
    conn: Connection, *, workspace_id: str, values: dict[str, dict[str, Any]], now: datetime
) -> int:
    """Bulk-set computed keys (e.g. scores): ``{profile_id: {key: value}}``; unknown or merged
    ids are skipped. Returns how many profiles were updated."""
    if not values:
        return 0
    states = repo.load_states(conn, values)
    changed = []
    for pid, keys in values.items():
        state = states.get(pid)
        if state is None or state.workspace_id != workspace_id:
            continue
        state.computed.update(keys)
        changed.append(state)
    if changed:
        conn.execute(
            profiles.update()
            .where(profiles.c.id == bindparam("b_id"))
            .values(computed=bindparam("b_computed"), updated_at=now),
            [{"b_id": s.id, "b_computed": s.computed} for s in changed],
        )
    return len(changed)


def channel_addresses(profile: Profile) -> dict[str, Any]:
    """Where to reach the person: email, phone and device tokens from traits and identities."""
    traits = profile.traits
    email = normalise_email(traits.get("email")) or next(
        iter(profile.identities.get("email", [])), None
    )
    phone = normalise_phone(traits.get("phone")) or next(
        iter(profile.identities.get("phone", [])), None
    )
    tokens: list[str] = []
    for key in ("device_token", "push_token", "device_tokens", "push_tokens"):
        value = traits.get(key)
        if isinstance(value, str) and value:
            tokens.append(value)
        elif isinstance(value, list):
            tokens.extend(v for v in value if isinstance(v, str) and v)
    return {"email": email, "phone": phone, "device_tokens": sorted(set(tokens))}


def list_events(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    before: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> tuple[Profile, list[TimelineEvent]]:
    """A page of the profile's timeline, newest first (merged profiles' events included)."""
    profile = get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)
    rows = event_log.profile_events(
        conn, workspace_id=workspace_id, profile_ids=[profile.id], before=before, limit=limit
    )
    return profile, [TimelineEvent.model_validate(r._asdict()) for r in rows]


@action(
    "profile.export",
    permission=Permission.erase_profiles,
    subject="profile",
    subject_key="profile_id",
)
def export_profile(
    conn: Connection, *, workspace_id: str, profile_id: str, now: datetime, actor: Actor
) -> ProfileExport:
    """Everything about the person: profile, identities, trait history, events, merges, audit."""
    profile = get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)
    rows = event_log.profile_events(conn, workspace_id=workspace_id, profile_ids=[profile.id])
    audit = [
        e.model_dump(mode="json")
        for pid in [profile.id, *profile.merged_from]
        for e in subject_history(
            conn, workspace_id=workspace_id, subject_type="profile", subject_id=pid
        )
    ]
    export = ProfileExport(
        profile=profile,
        trait_history=[
            TraitChange.model_validate(dict(r)) for r in repo.history_of(conn, profile.id)
        ],
        merges=[ProfileMerge.model_validate(dict(r)) for r in repo.merges_of(conn, profile.id)],
        events=[TimelineEvent.model_validate(r._asdict()) for r in rows],
        audit=audit,
        exported_at=now,
    )
    describe(subject_id=profile.id)
    return export


@action(
    "profile.erase",
    permission=Permission.erase_profiles,
    subject="profile",
    subject_key="profile_id",
)
def erase_profile(
    conn: Connection, *, workspace_id: str, profile_id: str, now: datetime, actor: Actor
) -> Erasure:
    """GDPR erasure: delete the profile (and profiles merged into it), identities, events,
    trait history and merge records; hashes of the identifiers go on the suppression list so
    later events for them are dropped and counted. The audit row names no personal data."""
    profile = get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)
    ids = _merge_family(conn, profile.id)
    hashes: list[tuple[str, str]] = []
    for pid in ids:
        for kind, values in repo.identities_of(conn, pid).items():
            hashes.extend((kind, value_hash(kind, v)) for v in values)
    suppressed = identity_repo.suppress(conn, workspace_id=workspace_id, hashes=hashes, now=now)
    events_erased = event_log.delete_profile_events(
        conn, workspace_id=workspace_id, profile_ids=ids
    )
    counts = repo.erase_rows(conn, workspace_id=workspace_id, profile_ids=ids)
    describe(
        subject_id=profile.id,
        details={
            "profiles": counts["profiles"],
            "identities": counts["identities"],
            "events": events_erased,
            "suppressed_identifiers": suppressed,
        },
    )
    return Erasure(
        profile_id=profile.id,
        profiles_erased=counts["profiles"],
        identities_erased=counts["identities"],
        events_erased=events_erased,
        suppressed_identifiers=suppressed,
        erased_at=now,
    )


def list_merges(conn: Connection, *, workspace_id: str, profile_id: str) -> list[ProfileMerge]:
    """The merges that formed this profile (oldest first)."""
    profile = get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)
    return [ProfileMerge.model_validate(dict(r)) for r in repo.merges_of(conn, profile.id)]


def _merge_family(conn: Connection, survivor_id: str) -> list[str]:
    """The survivor and every profile merged into it (merged_into always names the survivor)."""
    return [survivor_id, *repo.merged_ids(conn, survivor_id)]


def suppression_list(conn: Connection, *, workspace_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in identity_repo.suppression_rows(conn, workspace_id=workspace_id)]


# -- bulk functions used by identity resolution -------------------------------------------------
#
# A resolution pass holds the profiles it changes in memory (``load_states``), folds merges,
# traits and activity into them with the pure functions of ``profiles.traits`` (re-exported
# here: ``merge_states``, ``apply_traits``, ``apply_place``, ``fold_activity``), and writes
# them back in bulk. Rows are formatted (``history_rows``, ``profile_rows``) apart from
# writing them (``insert_history``, ``write_profile_rows``): a background writer's caller
# formats the next rows while the writer writes the last ones, without touching the
# connection the writer owns.


def load_states(conn: Connection, ids: Iterable[str]) -> dict[str, ProfileState]:
    """The states of the given profiles (unknown ids are left out)."""
    return repo.load_states(conn, ids)


def history_rows(history: Sequence[HistoryRow], *, dialect: str) -> HistoryRows:
    """Trait history formatted for ``insert_history`` on the engine ``dialect``, in the order
    given (the resolver gives it in index order: appended to the index, not spread over it)."""
    return repo.history_rows(history, dialect)


def insert_history(conn: Connection, rows: HistoryRows) -> None:
    """Add trait history rows."""
    repo.insert_history_rows(conn, rows)


def profile_rows(
    *, new: Sequence[ProfileState], changed: Sequence[ProfileState], now: datetime, dialect: str
) -> ProfileRows:
    """New and changed profiles formatted for ``write_profile_rows`` on the engine
    ``dialect``."""
    return repo.profile_rows(new=new, changed=changed, now=now, dialect=dialect)


def write_profile_rows(
    conn: Connection, rows: ProfileRows, *, now: datetime, merged: Mapping[str, str] | None = None
) -> None:
    """Insert new profiles, update changed ones, point ``merged`` ones (keys) at their
    survivors (values), emptied, with their trait history."""
    repo.insert_profiles(conn, rows, now)
    repo.update_profiles(conn, rows.changed, now)
    if merged:
        repo.mark_merged(conn, merged, now)


def apply_activity(conn: Connection, activity: ProfileActivity, *, now: datetime) -> None:
    """Add a batch's activity to the profiles of ``activity`` in the store (set-based; those
    held in memory get ``fold_activity`` instead): counts add up, first/last seen widen, the
    latest event's channel wins, locale and timezone where newer than the profile's."""
    repo.apply_activity(conn, activity, now)


def write_states(
    conn: Connection,
    *,
    new: Sequence[ProfileState],
    changed: Sequence[ProfileState],
    history: Sequence[HistoryRow],
    now: datetime,
    merged: Mapping[str, str] | None = None,
) -> None:
    """Insert new profiles, update changed ones, add history, redirect merged profiles: in
    one call, for a few profiles."""
    dialect = conn.dialect.name
    write_profile_rows(
        conn,
        profile_rows(new=new, changed=changed, now=now, dialect=dialect),
        now=now,
        merged=merged,
    )
    insert_history(conn, history_rows(history, dialect=dialect))


# -- CSV import --------------------------------------------------------------------------------


@action("profiles.import", permission=Permission.edit_profiles, subject="profiles")
def import_profile_rows(
    conn: Connection,
    *,
    workspace_id: str,
    rows: Sequence[ProfileRow],
    source: str,
    now: datetime,
    tally: ImportTally,
    actor: Actor,
) -> None:
    """Import parsed CSV rows (see ``profiles.importer``) in the caller's transaction."""
    import_rows(conn, workspace_id=workspace_id, rows=rows, source=source, now=now, tally=tally)
    created_or_updated = tally.created + tally.updated
    if created_or_updated:
        describe(subject_id=source[:200], subject_type="import", details={"rows": len(rows)})


def import_external_columns(columns: Iterable[str], configured: Iterable[str]) -> dict[str, str]:
    return external_columns_for(columns, configured)
