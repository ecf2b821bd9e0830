"""Unified profiles: read, look up, change traits, set computed traits, export and erase.

The bulk functions at the end (``load_states`` ... ``write_states``) are what identity
resolution uses to keep profiles current, one batch at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam

from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import NotFound, ValidationFailed
from partitur.events import service as events
from partitur.identity import service as identity
from partitur.profiles import repository as repo
from partitur.profiles.contracts import (
    HistoryRow,
    HistoryRows,
    Profile,
    ProfileActivity,
    ProfileMerge,
    ProfileRows,
    ProfileSnapshot,
    ProfileState,
    ProfileSummary,
    TimelineEvent,
    TraitChange,
)
from partitur.profiles.importer import ID_COLUMNS as ID_COLUMNS
from partitur.profiles.importer import ImportTally as ImportTally
from partitur.profiles.importer import ProfileRow as ProfileRow
from partitur.profiles.importer import external_columns_for, import_rows
from partitur.profiles.importer import parse_row as parse_row
from partitur.profiles.tables import profiles

# the pure state functions identity resolution folds a batch with (see the bulk functions)
from partitur.profiles.traits import apply_place as apply_place
from partitur.profiles.traits import apply_traits as apply_traits
from partitur.profiles.traits import fold_activity as fold_activity
from partitur.profiles.traits import merge_states as merge_states

LOOKUP_KINDS = ("user_id", "anonymous_id", "email", "phone")

#: How many ``merged_into`` links ``follow_merges`` follows. A merge re-points every profile
#: already merged into the merged one at the new survivor (``repository.mark_merged``), so a
#: merged profile names its final survivor and one hop is the rule; more only appear while a
#: merge commits concurrently. A longer chain means corrupt data: the id counts as unknown.
MAX_MERGE_HOPS = 8


def normalise_lookup(kind: str, value: str) -> str:
    """Normalise a looked-up value the way resolution stored it."""
    if kind == "email":
        out = identity.normalise_email(value)
    elif kind == "phone":
        out = identity.normalise_phone(value)
    else:
        out = identity.normalise_id(value)
    if out is None:
        raise ValidationFailed(f"{value!r} is not a valid {kind}", field=kind)
    return out


def _resolve_id(conn: Connection, profile_id: str) -> Mapping[str, Any]:
    """The row of ``profile_id`` or of the profile it was merged into."""
    row = repo.profile_row(conn, profile_id)
    if row is not None and row["merged_into"] is not None:
        survivor = follow_merges(conn, [profile_id]).get(profile_id)
        row = repo.profile_row(conn, survivor) if survivor else None
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
        identities=identity.identities_of(conn, row["id"]),
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
    profile_id = identity.profile_for_identity(
        conn, workspace_id=workspace_id, kind=kind, value=normal
    )
    if profile_id is None:
        raise NotFound(f"no profile with this {kind}", field=kind)
    return get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)


# -- what other domains read -----------------------------------------------------------------


def follow_merges(conn: Connection, profile_ids: Iterable[str]) -> dict[str, str]:
    """The live profile each id stands for (merged ids followed to their survivor, at most
    ``MAX_MERGE_HOPS`` links); unknown ids are absent. The one merge follower of partitur."""
    wanted = list(dict.fromkeys(profile_ids))
    links = repo.merge_links(conn, wanted)
    target = {pid: pid for pid in wanted if pid in links}
    for _ in range(MAX_MERGE_HOPS):
        pending: dict[str, str] = {
            pid: survivor for pid, t in target.items() if (survivor := links.get(t))
        }
        if not pending:
            return target
        unseen = {s for s in pending.values() if s is not None} - links.keys()
        links.update(repo.merge_links(conn, unseen))
        for pid, survivor in pending.items():
            if survivor in links:
                target[pid] = survivor
            else:
                del target[pid]
    return {pid: t for pid, t in target.items() if not links.get(t)}


def snapshots(
    conn: Connection, *, workspace_id: str, profile_ids: Iterable[str]
) -> dict[str, ProfileSnapshot]:
    """Snapshots of the live profiles these ids stand for (merges followed), keyed by the id
    asked for; ids unknown in this workspace are absent."""
    target = follow_merges(conn, profile_ids)
    found = repo.snapshot_rows(conn, workspace_id=workspace_id, profile_ids=set(target.values()))
    return {pid: found[t] for pid, t in target.items() if t in found}


def require_profiles(
    conn: Connection,
    *,
    workspace_id: str,
    profile_ids: Iterable[str],
    field: str = "profile_id",
) -> dict[str, ProfileSnapshot]:
    """Snapshots of these profiles (merges followed), keyed by the id asked for. Raises
    ``NotFound`` naming ``field`` when any id is unknown in the workspace: a profile of another
    workspace is unknown here, so nothing is ever stored or sent for it."""
    wanted = list(dict.fromkeys(profile_ids))
    found = snapshots(conn, workspace_id=workspace_id, profile_ids=wanted)
    unknown = [pid for pid in wanted if pid not in found]
    if unknown:
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise NotFound(f"no profile {', '.join(unknown[:3])}{more}", field=field)
    return found


def require_profile(
    conn: Connection, *, workspace_id: str, profile_id: str, field: str = "profile_id"
) -> ProfileSnapshot:
    """One profile's snapshot (merges followed); ``NotFound`` naming ``field`` otherwise."""
    found = snapshot(conn, workspace_id=workspace_id, profile_id=profile_id)
    if found is None:
        raise NotFound(f"no profile {profile_id}", field=field)
    return found


def snapshot(conn: Connection, *, workspace_id: str, profile_id: str) -> ProfileSnapshot | None:
    """One profile's snapshot (merges followed), or None; the decision API's hot path."""
    current = profile_id
    for _ in range(MAX_MERGE_HOPS + 1):
        found = repo.snapshot_row(conn, current)
        if found is None or found[0].workspace_id != workspace_id:
            return None
        snap, merged_into = found
        if merged_into is None:
            return snap
        current = merged_into
    return None


def live_profiles(
    conn: Connection, *, workspace_id: str, profile_ids: Iterable[str]
) -> dict[str, ProfileSnapshot]:
    """Snapshots of those of ``profile_ids`` that are live (not merged) in the workspace."""
    return repo.snapshot_rows(conn, workspace_id=workspace_id, profile_ids=set(profile_ids))


def iter_live_profiles(
    conn: Connection, *, workspace_id: str, chunk: int = 5000
) -> Iterator[list[ProfileSnapshot]]:
    """Every live profile of the workspace, in chunks ordered by id."""
    after = ""
    while True:
        rows = repo.live_profile_page(conn, workspace_id=workspace_id, after=after, limit=chunk)
        if not rows:
            return
        yield rows
        after = rows[-1].id


def profile_workspaces(conn: Connection, profile_ids: Iterable[str]) -> dict[str, str]:
    """The workspace of each known profile id (for feeds that do not carry it)."""
    return repo.workspaces_of(conn, list(profile_ids))


def trait_changes(conn: Connection, *, after: int, limit: int) -> tuple[int, set[str]]:
    """The profiles whose traits changed after trait-history id ``after`` (at most ``limit``
    history rows) and the last id read (``after`` when there is nothing new)."""
    return repo.trait_changes(conn, after=after, limit=limit)


def merge_computed(
    conn: Connection, *, workspace_id: str, values: dict[str, dict[str, Any]], now: datetime
) -> int:
    """Set computed traits per profile, merging nested objects (``scores``) one level deep so
    one model's scores do not erase another's. Returns how many profiles were updated."""
    updated = 0
    ids = list(values)
    for start in range(0, len(ids), 2000):
        part = ids[start : start + 2000]
        current = repo.computed_of(conn, workspace_id=workspace_id, profile_ids=part)
        batch: dict[str, dict[str, Any]] = {}
        for pid in part:
            if pid not in current:
                continue
            keys = dict(values[pid])
            for name, value in keys.items():
                existing = current[pid].get(name)
                if isinstance(value, dict) and isinstance(existing, dict):
                    keys[name] = {**existing, **value}
            batch[pid] = keys
        updated += set_computed(conn, workspace_id=workspace_id, values=batch, now=now)
    return updated


def display_name(traits: Mapping[str, Any]) -> str | None:
    """How a person is named in lists: first and last name, else the ``name`` trait, else the
    email; None for someone without any (an anonymous visitor)."""
    full = " ".join(str(traits[k]) for k in ("first_name", "last_name") if traits.get(k))
    name = full or traits.get("name") or traits.get("email")
    return str(name) if name else None


def count_profiles(conn: Connection, *, workspace_id: str) -> int:
    """How many people the workspace knows (profiles merged into another do not count)."""
    return repo.count_profiles(conn, workspace_id=workspace_id)


def _summary_rows(
    conn: Connection, workspace_id: str, ids: Sequence[str]
) -> list[tuple[dict[str, Any], str | None]]:
    rows = repo.summary_rows(conn, workspace_id=workspace_id, ids=ids)
    user_ids = identity.first_user_ids(
        conn, workspace_id=workspace_id, profile_ids=[r["id"] for r in rows]
    )
    return [(row, user_ids.get(row["id"])) for row in rows]


def profile_summaries(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> list[ProfileSummary]:
    """One summary per known id, in the order given; a merged id is answered by its survivor
    (``requested_id`` names the id asked for); unknown ids are left out."""
    rows = _summary_rows(conn, workspace_id, profile_ids)
    survivors: dict[str, str] = {}
    for row, _ in rows:
        if row["merged_into"] is not None:
            survivors[row["id"]] = str(_resolve_id(conn, row["id"])["id"])
    if survivors:
        resolved = {
            row["id"]: (row, user_id)
            for row, user_id in _summary_rows(conn, workspace_id, sorted(set(survivors.values())))
        }
    out: list[ProfileSummary] = []
    for row, user_id in rows:
        requested = row["id"]
        if requested in survivors:
            row, user_id = resolved[survivors[requested]]
        traits = row["traits"] or {}
        count = (row["computed"] or {}).get("event_count")
        out.append(
            ProfileSummary(
                id=row["id"],
                name=display_name(traits),
                email=traits.get("email"),
                user_id=user_id,
                last_seen_at=row["last_seen_at"],
                event_count=int(count) if isinstance(count, int | float) else None,
                requested_id=requested if requested != row["id"] else None,
            )
        )
    return out


def recent_profiles(
    conn: Connection, *, workspace_id: str, limit: int = 25
) -> list[ProfileSummary]:
    """The most recently active people, newest first."""
    ids = repo.recent_profile_ids(conn, workspace_id=workspace_id, limit=limit)
    return profile_summaries(conn, workspace_id=workspace_id, profile_ids=ids)


def search_profiles(
    conn: Connection,
    *,
    workspace_id: str,
    query: str,
    external_kinds: Sequence[str] = (),
    limit: int = 20,
) -> list[ProfileSummary]:
    """People whose email, user id, anonymous id, phone, external id (``external_kinds``, e.g.
    ``crm_id``) or profile id is ``query``, each identifier normalised the way identity
    resolution stores it (an email in any case finds its profile)."""
    text = query.strip()
    if not text:
        return []
    ids: list[str] = []
    for kind in [*LOOKUP_KINDS, *(f"external:{k}" for k in external_kinds)]:
        try:
            found = find_profile(conn, workspace_id=workspace_id, kind=kind, value=text)
        except (NotFound, ValidationFailed):
            continue
        if found.id not in ids:
            ids.append(found.id)
    try:
        direct = get_profile(conn, profile_id=text, workspace_id=workspace_id)
    except NotFound:
        direct = None
    if direct is not None and direct.id not in ids:
        ids.append(direct.id)
    return profile_summaries(conn, workspace_id=workspace_id, profile_ids=ids[:limit])


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
    email = identity.normalise_email(traits.get("email")) or next(
        iter(profile.identities.get("email", [])), None
    )
    phone = identity.normalise_phone(traits.get("phone")) or next(
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
    rows = events.profile_events(
        conn, workspace_id=workspace_id, profile_ids=[profile.id], before=before, limit=limit
    )
    return profile, [TimelineEvent.model_validate(r._asdict()) for r in rows]


def trait_history(conn: Connection, *, profile_id: str) -> list[TraitChange]:
    """Every recorded trait change of the profile, oldest first."""
    return [TraitChange.model_validate(dict(r)) for r in repo.history_of(conn, profile_id)]


def merge_family(conn: Connection, *, workspace_id: str, profile_id: str) -> list[str]:
    """The live profile ``profile_id`` stands for and every profile merged into it (merged
    ids always name their final survivor). Raises ``NotFound``."""
    profile = get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)
    return [profile.id, *repo.merged_ids(conn, profile.id)]


def erase_rows(
    conn: Connection, *, workspace_id: str, profile_ids: Sequence[str]
) -> dict[str, int]:
    """Delete these profiles, their trait history and import records (erasure; the privacy
    domain's ``erase_profile`` calls every domain's part)."""
    return repo.erase_rows(conn, workspace_id=workspace_id, profile_ids=profile_ids)


def list_merges(conn: Connection, *, workspace_id: str, profile_id: str) -> list[ProfileMerge]:
    """The merges that formed this profile (oldest first)."""
    profile = get_profile(conn, profile_id=profile_id, workspace_id=workspace_id)
    return [ProfileMerge.model_validate(r) for r in identity.merges_of(conn, profile.id)]


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
