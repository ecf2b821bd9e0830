"""Read-only views the UI pages show: dashboard figures, profile lookups and timelines.

Profiles, identities, timelines and quarantine are read through the profiles and events
services. The dashboard's aggregates (events per day and source, counts) and the list of
recently active profiles have no service function yet; they read the event log and the
profiles with lightweight table clauses (read-only, no import of another domain's ``tables``
module) and should move behind service functions when those domains offer them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, column, func, literal_column, select, table

from partitur.core.errors import NotFound, ValidationFailed
from partitur.core.types import BigId, JsonDoc, UtcDateTime
from partitur.events import service as events_service
from partitur.events.contracts import StoredEvent
from partitur.profiles import service as profiles_service
from partitur.workspaces import service as workspaces

_events = table(
    "events",
    column("seq", BigId),
    column("workspace_id", String),
    column("source_id", String),
    column("message_id", String),
    column("type", String),
    column("event", String),
    column("user_id", String),
    column("anonymous_id", String),
    column("profile_id", String),
    column("timestamp", UtcDateTime),
    column("properties", JsonDoc),
    column("traits", JsonDoc),
    column("context", JsonDoc),
)
_quarantine = table(
    "quarantine",
    column("id", BigId),
    column("workspace_id", String),
    column("source_id", String),
    column("received_at", UtcDateTime),
    column("origin", String),
    column("position", String),
    column("reason", String),
    column("field", String),
)
_profiles = table(
    "profiles",
    column("id", String),
    column("workspace_id", String),
    column("merged_into", String),
    column("traits", JsonDoc),
    column("computed", JsonDoc),
    column("first_seen_at", UtcDateTime),
    column("last_seen_at", UtcDateTime),
    column("created_at", UtcDateTime),
    column("timezone", String),
    column("locale", String),
)
_identities = table(
    "identities",
    column("workspace_id", String),
    column("kind", String),
    column("value", String),
    column("profile_id", String),
    column("first_seen_at", UtcDateTime),
    column("last_seen_at", UtcDateTime),
)


@dataclass
class DailyVolume:
    day: date
    by_source: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_source.values())


@dataclass
class QuarantineItem:
    received_at: datetime
    source: str
    reason: str
    field: str | None
    origin: str


@dataclass
class Overview:
    profiles: int
    events: int
    events_last_day: int
    #: the first and last day of ``daily``
    period: tuple[date, date]
    quarantined: int
    sources: list[str]
    daily: list[DailyVolume]
    recent_quarantine: list[QuarantineItem]


@dataclass
class ProfileSummary:
    id: str
    name: str
    email: str | None
    user_id: str | None
    last_seen_at: datetime | None
    event_count: int | None


@dataclass
class Identity:
    kind: str
    value: str


@dataclass
class ProfileView:
    id: str
    name: str
    traits: dict[str, Any]
    computed: dict[str, Any]
    identities: list[Identity]
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    timezone: str | None
    locale: str | None
    #: how many profiles were merged into this one
    merged_from: int = 0


@dataclass
class TimelineItem:
    seq: int
    timestamp: datetime
    type: str
    name: str
    source: str
    properties: dict[str, Any] = field(default_factory=dict)
    #: the few properties worth a glance ("Order NH-100231 · 129.90 EUR")
    summary: str = ""
    #: a customer's own words (ticket, review, survey comment), shown as a quote
    text: str | None = None
    sentiment: str | None = None


def _source_names(conn: Connection, workspace_id: str) -> dict[str, str]:
    return {s.id: s.name for s in workspaces.list_sources(conn, workspace_id=workspace_id)}


def _day_expr(conn: Connection) -> Any:
    ts = _events.c.timestamp
    if conn.dialect.name == "sqlite":
        return func.substr(ts, 1, 10)
    # literals, not bound parameters: GROUP BY must repeat the very same expression
    utc = func.timezone(literal_column("'UTC'"), ts)
    return func.to_char(utc, literal_column("'YYYY-MM-DD'"))


@dataclass(frozen=True)
class _EventFigures:
    events: int
    last_day: int
    first_day: date
    per_day: dict[date, dict[str, int]]


#: The event figures are scans of the event log; they are kept until a new event arrives
#: (the key holds the log's highest ``seq``), so reloading the dashboard costs nothing.
_figures_cache: dict[str, tuple[tuple[Any, ...], _EventFigures]] = {}
_cache_lock = threading.Lock()


def _event_figures(
    conn: Connection, *, workspace_id: str, now: datetime, days: int
) -> _EventFigures:
    ws = _events.c.workspace_id == workspace_id
    newest_seq = conn.execute(select(func.max(_events.c.seq))).scalar_one()
    key = (newest_seq, days, now.date())
    with _cache_lock:
        cached = _figures_cache.get(workspace_id)
    if cached is not None and cached[0] == key:
        return cached[1]
    # the window ends at the newest event (imported history may end before today)
    newest = conn.execute(
        select(_events.c.timestamp).where(ws).order_by(_events.c.seq.desc()).limit(1)
    ).scalar_one_or_none()
    until = min(now, newest) if newest is not None else now
    first_day = (until - timedelta(days=days - 1)).date()
    events = conn.execute(select(func.count()).select_from(_events).where(ws)).scalar_one()
    day = _day_expr(conn).label("day")
    since = datetime.combine(first_day, datetime.min.time(), now.tzinfo)
    rows = conn.execute(
        select(day, _events.c.source_id, func.count().label("n"))
        .where(ws, _events.c.timestamp >= since)
        .group_by(day, _events.c.source_id)
    ).all()
    last_day = conn.execute(
        select(func.count())
        .select_from(_events)
        .where(ws, _events.c.timestamp >= max(now - timedelta(days=1), since))
    ).scalar_one()
    per_day: dict[date, dict[str, int]] = {first_day + timedelta(days=k): {} for k in range(days)}
    for day_text, source_id, n in rows:
        bucket = per_day.get(date.fromisoformat(str(day_text)))
        if bucket is not None:
            bucket[source_id] = bucket.get(source_id, 0) + int(n)
    figures = _EventFigures(int(events), int(last_day), first_day, per_day)
    with _cache_lock:
        _figures_cache[workspace_id] = (key, figures)
    return figures


def overview(conn: Connection, *, workspace_id: str, now: datetime, days: int = 30) -> Overview:
    """Counts and the event volume per day and source over the last ``days`` days (UTC) that
    have data (ending today, or on the day of the newest event if that is earlier)."""
    names = _source_names(conn, workspace_id)
    figures = _event_figures(conn, workspace_id=workspace_id, now=now, days=days)
    profiles = conn.execute(
        select(func.count())
        .select_from(_profiles)
        .where(_profiles.c.workspace_id == workspace_id, _profiles.c.merged_into.is_(None))
    ).scalar_one()
    quarantined = conn.execute(
        select(func.count())
        .select_from(_quarantine)
        .where(_quarantine.c.workspace_id == workspace_id)
    ).scalar_one()
    recent, _ = events_service.list_quarantine(
        conn, workspace_id=workspace_id, cursor=None, limit=8
    )
    daily = []
    for d, by_id in figures.per_day.items():
        by_name: dict[str, int] = {}
        for source_id, n in by_id.items():
            name = names.get(source_id, "other")
            by_name[name] = by_name.get(name, 0) + n
        daily.append(DailyVolume(d, by_name))
    return Overview(
        profiles=int(profiles),
        events=figures.events,
        events_last_day=figures.last_day,
        period=(figures.first_day, figures.first_day + timedelta(days=days - 1)),
        quarantined=int(quarantined),
        sources=sorted(names.values()),
        daily=daily,
        recent_quarantine=[
            QuarantineItem(
                received_at=q.received_at,
                source=names.get(q.source_id or "", "—"),
                reason=q.reason,
                field=q.field,
                origin=q.origin,
            )
            for q in recent
        ],
    )


def display_name(traits: dict[str, Any]) -> str:
    full = " ".join(str(traits[k]) for k in ("first_name", "last_name") if traits.get(k))
    return full or str(traits.get("name") or traits.get("email") or "Anonymous visitor")


def _summaries(conn: Connection, workspace_id: str, ids: list[str]) -> list[ProfileSummary]:
    if not ids:
        return []
    rows = conn.execute(
        select(_profiles).where(_profiles.c.workspace_id == workspace_id, _profiles.c.id.in_(ids))
    ).mappings()
    by_id = {r["id"]: r for r in rows}
    uids = dict(
        conn.execute(
            select(_identities.c.profile_id, _identities.c.value).where(
                _identities.c.workspace_id == workspace_id,
                _identities.c.kind == "user_id",
                _identities.c.profile_id.in_(ids),
            )
        ).all()
    )
    result = []
    for pid in ids:
        r = by_id.get(pid)
        if r is None:
            continue
        traits = r["traits"] or {}
        computed = r["computed"] or {}
        count = computed.get("event_count")
        result.append(
            ProfileSummary(
                id=pid,
                name=display_name(traits),
                email=traits.get("email"),
                user_id=uids.get(pid),
                last_seen_at=r["last_seen_at"],
                event_count=int(count) if isinstance(count, int | float) else None,
            )
        )
    return result


def find_profiles(
    conn: Connection,
    *,
    workspace_id: str,
    query: str,
    external_kinds: list[str] | None = None,
    limit: int = 20,
) -> list[ProfileSummary]:
    """Profiles whose email, user id, anonymous id, phone, external id or profile id is
    ``query`` (each identifier normalised the way identity resolution stores it)."""
    text = query.strip()
    if not text:
        return []
    ids: list[str] = []
    kinds = [*profiles_service.LOOKUP_KINDS, *(f"external:{k}" for k in external_kinds or [])]
    for kind in kinds:
        try:
            found = profiles_service.find_profile(
                conn, workspace_id=workspace_id, kind=kind, value=text
            )
        except (NotFound, ValidationFailed):
            continue
        if found.id not in ids:
            ids.append(found.id)
    try:
        direct = profiles_service.get_profile(conn, profile_id=text, workspace_id=workspace_id)
    except NotFound:
        direct = None
    if direct is not None and direct.id not in ids:
        ids.append(direct.id)
    return _summaries(conn, workspace_id, ids[:limit])


def recent_profiles(
    conn: Connection, *, workspace_id: str, limit: int = 25
) -> list[ProfileSummary]:
    ids = conn.execute(
        select(_profiles.c.id)
        .where(_profiles.c.workspace_id == workspace_id, _profiles.c.merged_into.is_(None))
        .order_by(_profiles.c.last_seen_at.desc())
        .limit(limit)
    ).scalars()
    return _summaries(conn, workspace_id, list(ids))


def get_profile(conn: Connection, *, workspace_id: str, profile_id: str) -> ProfileView | None:
    """The profile (following merges to the survivor) or None."""
    try:
        profile = profiles_service.get_profile(
            conn, profile_id=profile_id, workspace_id=workspace_id
        )
    except NotFound:
        return None
    return ProfileView(
        id=profile.id,
        name=display_name(profile.traits),
        traits=profile.traits,
        computed=profile.computed,
        identities=[
            Identity(kind, value)
            for kind, values in sorted(profile.identities.items())
            for value in values
        ],
        first_seen_at=profile.first_seen_at,
        last_seen_at=profile.last_seen_at,
        timezone=profile.timezone or profile.traits.get("timezone"),
        locale=profile.locale or profile.traits.get("locale"),
        merged_from=len(profile.merged_from),
    )


def timeline(
    conn: Connection,
    *,
    workspace_id: str,
    profile_id: str,
    cursor: int | None = None,
    limit: int = 50,
) -> tuple[list[TimelineItem], int | None]:
    """A page of the profile's events, newest first, and the cursor of the next page."""
    names = _source_names(conn, workspace_id)
    page, next_cursor = events_service.list_events(
        conn, workspace_id=workspace_id, profile_ids=[profile_id], cursor=cursor, limit=limit
    )
    return [_timeline_item(e, names.get(e.source_id, "—")) for e in page], next_cursor


def _timeline_item(e: StoredEvent, source: str) -> TimelineItem:
    seq, ts, kind, event = e.seq, e.timestamp, e.type, e.event
    props: dict[str, Any] = e.properties or {}
    if kind == "identify":
        traits: dict[str, Any] = e.traits or {}
        keys = ", ".join(list(traits)[:6])
        return TimelineItem(seq, ts, kind, "Identified", source, traits, f"traits: {keys}")
    name = event or ("Page viewed" if kind == "page" else kind.title())
    if kind in ("page", "screen"):
        name = f"{'Viewed' if kind == 'page' else 'Opened'} {event or 'page'}"
        summary = str(props.get("title") or props.get("path") or "")
        return TimelineItem(seq, ts, kind, name, source, props, summary)
    parts: list[str] = []
    if props.get("name"):
        parts.append(str(props["name"]))
    for key, label in (
        ("order_id", "order"),
        ("ticket_id", "ticket"),
        ("topic", "topic"),
        ("campaign_name", "campaign"),
        ("rating", "rating"),
        ("score", "score"),
    ):
        if key in props and props[key] not in (None, "-", ""):
            parts.append(f"{label} {props[key]}")
    money = props.get("revenue", props.get("total"))
    if money is not None and props.get("currency"):
        parts.append(f"{money:,.2f} {props['currency']}" if isinstance(money, float) else "")
    text = props.get("text") or props.get("review_body") or props.get("comment")
    return TimelineItem(
        seq,
        ts,
        kind,
        name,
        source,
        props,
        " · ".join(p for p in parts if p),
        str(text) if text else None,
        props.get("sentiment_label"),
    )
