"""Use cases of the journey map repository. The only writer of the journey map tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection

from partitur.analytics.service import AnalyticsEngine, naive_utc, open_engine
from partitur.core.actions import Actor, Permission, action, describe
from partitur.core.errors import Conflict, InvalidDocument, NotFound, ValidationFailed
from partitur.core.ids import new_id
from partitur.journey_maps import io as map_io
from partitur.journey_maps import render, report, repository
from partitur.journey_maps.contracts import (
    DEFAULT_STAGES,
    BeforeAfter,
    Comment,
    Insight,
    JourneyMap,
    JourneyMapDocument,
    MapMeasurement,
    MapReport,
    MapVersion,
    RankedInsight,
    StageDefinition,
    Taxonomy,
    as_payload,
)
from partitur.journey_maps.insights import before_after, rank_insights
from partitur.journey_maps.io import load_file as load_file
from partitur.journey_maps.measure import measure_map
from partitur.journey_maps.render import render_matrix as render_matrix
from partitur.journey_maps.tables import (
    journey_map_comments,
    journey_map_taxonomies,
    journey_map_versions,
    journey_maps,
)
from partitur.storage.engine import Store

FILTERS = {"status", "state", "parent_key", "variant_of"}


def get_taxonomy(conn: Connection, *, workspace_id: str) -> Taxonomy:
    """The workspace's stage taxonomy (the nine default stages until it is edited)."""
    stored = repository.taxonomy_row(conn, workspace_id=workspace_id)
    if stored is None:
        return Taxonomy(stages=list(DEFAULT_STAGES))
    return Taxonomy(stages=[StageDefinition.model_validate(s) for s in stored])


@action("map_taxonomy.save", permission=Permission.edit_maps, subject="map_taxonomy")
def set_taxonomy(
    conn: Connection, *, workspace_id: str, taxonomy: Taxonomy, now: datetime, actor: Actor
) -> Taxonomy:
    """Replace the taxonomy; refuses to drop a stage that a map still uses."""
    keys = {s.key for s in taxonomy.stages}
    for row in repository.map_rows(conn, workspace_id=workspace_id, filters={}):
        used = {s["key"] for s in row["document"].get("stages", [])}
        missing = sorted(used - keys)
        if missing:
            raise Conflict(
                f"map {row['key']!r} uses stages {', '.join(missing)}; move them first",
                field="stages",
            )
    payload = [s.model_dump() for s in taxonomy.stages]
    updated = conn.execute(
        journey_map_taxonomies.update()
        .where(journey_map_taxonomies.c.workspace_id == workspace_id)
        .values(stages=payload, updated_at=now)
    )
    if updated.rowcount == 0:
        conn.execute(
            journey_map_taxonomies.insert().values(
                workspace_id=workspace_id, stages=payload, updated_at=now
            )
        )
    describe(subject_id=workspace_id, details={"stages": sorted(keys)})
    return taxonomy


def _check_references(conn: Connection, *, workspace_id: str, document: JourneyMapDocument) -> None:
    taxonomy = {s.key for s in get_taxonomy(conn, workspace_id=workspace_id).stages}
    problems = [
        {"path": f"stages[{i}].key", "message": f"stage {stage.key!r} is not in the taxonomy"}
        for i, stage in enumerate(document.stages)
        if stage.key not in taxonomy
    ]
    for field in ("parent", "variant_of"):
        ref = getattr(document, field)
        if ref is None:
            continue
        if ref == document.key:
            problems.append({"path": field, "message": "a map cannot refer to itself"})
        elif repository.map_row(conn, workspace_id=workspace_id, key=ref) is None:
            problems.append({"path": field, "message": f"no map with key {ref!r}"})
    if problems:
        raise InvalidDocument(f"the map has {len(problems)} problem(s)", problems=problems)


def _to_map(row: dict[str, object]) -> JourneyMap:
    return JourneyMap(
        id=str(row["id"]),
        workspace_id=str(row["workspace_id"]),
        version=int(row["version"]),  # type: ignore[call-overload]
        document=JourneyMapDocument.model_validate(row["document"]),
        created_at=row["created_at"],  # type: ignore[arg-type]
        updated_at=row["updated_at"],  # type: ignore[arg-type]
        updated_by=str(row["updated_by"]),
    )


def _columns(document: JourneyMapDocument) -> dict[str, object]:
    return {
        "key": document.key,
        "name": document.name,
        "status": document.status.value,
        "state": document.state.value,
        "parent_key": document.parent,
        "variant_of": document.variant_of,
        "document": as_payload(document),
    }


@action("map.save", permission=Permission.edit_maps, subject="journey_map")
def save_map(
    conn: Connection,
    *,
    workspace_id: str,
    document: JourneyMapDocument,
    now: datetime,
    actor: Actor,
    note: str = "",
    expected_version: int | None = None,
) -> JourneyMap:
    """Create the map, or store a new version of it (history keeps every version).

    ``expected_version`` guards against lost updates: saving over a newer version than the
    editor saw raises ``Conflict``.
    """
    _check_references(conn, workspace_id=workspace_id, document=document)
    row = repository.map_row(conn, workspace_id=workspace_id, key=document.key)
    if row is None:
        if expected_version not in (None, 0):
            raise Conflict(f"map {document.key!r} does not exist yet", field="version")
        map_id, version = new_id("map"), 1
        conn.execute(
            journey_maps.insert().values(
                id=map_id,
                workspace_id=workspace_id,
                version=1,
                created_at=now,
                updated_at=now,
                updated_by=actor.label,
                **_columns(document),
            )
        )
        created = True
    else:
        if expected_version is not None and expected_version != row["version"]:
            raise Conflict(
                f"map {document.key!r} is at version {row['version']}, not {expected_version}; "
                "reload and apply your change again",
                field="version",
            )
        if row["document"] == as_payload(document):
            return _to_map(row)
        map_id, version = row["id"], row["version"] + 1
        conn.execute(
            journey_maps.update()
            .where(journey_maps.c.id == map_id)
            .values(version=version, updated_at=now, updated_by=actor.label, **_columns(document))
        )
        created = False
    conn.execute(
        journey_map_versions.insert().values(
            map_id=map_id,
            version=version,
            document=as_payload(document),
            changed_at=now,
            changed_by=actor.label,
            note=note,
        )
    )
    describe(
        subject_id=map_id, details={"key": document.key, "version": version, "created": created}
    )
    return get_map(conn, workspace_id=workspace_id, key=document.key)


def get_map(
    conn: Connection, *, workspace_id: str, key: str, version: int | None = None
) -> JourneyMap:
    """The current map (or an earlier ``version``); raises ``NotFound``."""
    row = repository.map_row(conn, workspace_id=workspace_id, key=key)
    if row is None:
        raise NotFound(f"no journey map with key {key!r}", field="key")
    if version is not None and version != row["version"]:
        old = [
            v for v in repository.version_rows(conn, map_id=row["id"]) if v["version"] == version
        ]
        if not old:
            raise NotFound(f"map {key!r} has no version {version}", field="version")
        row = {
            **row,
            "version": version,
            "document": old[0]["document"],
            "updated_at": old[0]["changed_at"],
            "updated_by": old[0]["changed_by"],
        }
    return _to_map(row)


def list_maps(conn: Connection, *, workspace_id: str, **filters: str | None) -> list[JourneyMap]:
    """Maps, optionally filtered by status, state, parent_key or variant_of."""
    unknown = set(filters) - FILTERS
    if unknown:
        raise ValidationFailed(f"cannot filter by {sorted(unknown)[0]}", field=sorted(unknown)[0])
    given = {k: v for k, v in filters.items() if v is not None}
    return [_to_map(r) for r in repository.map_rows(conn, workspace_id=workspace_id, filters=given)]


def history(conn: Connection, *, workspace_id: str, key: str) -> list[MapVersion]:
    current = get_map(conn, workspace_id=workspace_id, key=key)
    return [
        MapVersion(
            version=r["version"],
            changed_at=r["changed_at"],
            changed_by=r["changed_by"],
            note=r["note"] or "",
        )
        for r in repository.version_rows(conn, map_id=current.id)
    ]


@action("map.delete", permission=Permission.edit_maps, subject="journey_map", subject_key="key")
def delete_map(
    conn: Connection, *, workspace_id: str, key: str, now: datetime, actor: Actor
) -> None:
    current = get_map(conn, workspace_id=workspace_id, key=key)
    children = [
        m.document.key
        for m in list_maps(conn, workspace_id=workspace_id)
        if key in (m.document.parent, m.document.variant_of)
    ]
    if children:
        raise Conflict(f"maps {', '.join(children)} refer to {key!r}", field="key")
    conn.execute(
        journey_maps.update()
        .where(journey_maps.c.id == current.id)
        .values(deleted_at=now, key=f"{key}~deleted~{current.id}")
    )
    describe(subject_id=current.id, details={"key": key})


@action("map.comment", permission=Permission.edit_maps, subject="journey_map", subject_key="key")
def add_comment(
    conn: Connection,
    *,
    workspace_id: str,
    key: str,
    body: str,
    author: str,
    now: datetime,
    actor: Actor,
    element_id: str | None = None,
) -> Comment:
    current = get_map(conn, workspace_id=workspace_id, key=key)
    if not body.strip():
        raise ValidationFailed("a comment needs text", field="body")
    if element_id is not None and element_id not in element_ids(current.document):
        raise NotFound(f"no element {element_id!r} on map {key!r}", field="element_id")
    comment = Comment(
        id=new_id("cmt"),
        map_key=key,
        element_id=element_id,
        author=author,
        body=body.strip(),
        created_at=now,
    )
    conn.execute(
        journey_map_comments.insert().values(
            id=comment.id,
            map_id=current.id,
            element_id=element_id,
            author=author,
            body=comment.body,
            created_at=now,
        )
    )
    describe(subject_id=current.id, details={"comment": comment.id})
    return comment


def list_comments(conn: Connection, *, workspace_id: str, key: str) -> list[Comment]:
    current = get_map(conn, workspace_id=workspace_id, key=key)
    return [
        Comment(
            id=r["id"],
            map_key=key,
            element_id=r["element_id"],
            author=r["author"],
            body=r["body"],
            created_at=r["created_at"],
        )
        for r in repository.comment_rows(conn, map_id=current.id)
    ]


def element_ids(document: JourneyMapDocument) -> set[str]:
    ids = {s.key for s in document.stages}
    for stage in document.stages:
        ids.update(t.id for t in stage.touchpoints)
        ids.update(i.id for i in stage.pain_points + stage.opportunities)
    return ids


# --- live data ------------------------------------------------------------------------------


def _stage_of(document: JourneyMapDocument, insight_id: str) -> tuple[str, Insight]:
    for stage in document.stages:
        for item in stage.pain_points + stage.opportunities:
            if item.id == insight_id:
                return stage.key, item
    raise NotFound(f"no pain point or opportunity {insight_id!r}", field="insight_id")


def measure(
    store: Store,
    *,
    workspace_id: str,
    key: str,
    since: datetime,
    until: datetime,
    with_sentiment: bool = True,
) -> MapMeasurement:
    """Measured KPIs of every stage and touchpoint of the map (see ``measure.measure_map``)."""
    if until <= since:
        raise ValidationFailed("until must be after since", field="until")
    with store.read() as conn:
        current = get_map(conn, workspace_id=workspace_id, key=key)
        taxonomy = get_taxonomy(conn, workspace_id=workspace_id)
    with open_engine(store, workspace_id) as engine:
        return measure_map(
            engine,
            document=current.document,
            taxonomy=taxonomy,
            since=since,
            until=until,
            with_sentiment=with_sentiment,
        )


def value_per_customer(
    store: Store,
    *,
    workspace_id: str,
    since: datetime,
    until: datetime,
    order_event: str = "Order Completed",
) -> float:
    """Revenue in the period divided by the customers active in it."""
    with open_engine(store, workspace_id) as engine:
        return _value_per_customer(engine, since=since, until=until, order_event=order_event)


def _value_per_customer(
    engine: AnalyticsEngine, *, since: datetime, until: datetime, order_event: str
) -> float:
    engine.require("events")
    row = engine.con.execute(
        """
        SELECT coalesce(sum(CASE WHEN event = $order THEN coalesce(
                   TRY_CAST(json_extract_string(properties, '$.revenue') AS DOUBLE),
                   TRY_CAST(json_extract_string(properties, '$.total') AS DOUBLE), 0) END), 0),
               count(DISTINCT profile_id)
        FROM events
        WHERE timestamp >= $since AND timestamp < $until AND profile_id IS NOT NULL
        """,
        {
            "order": order_event,
            "since": naive_utc(since, "since"),
            "until": naive_utc(until, "until"),
        },
    ).fetchone()
    revenue, customers = (float(row[0]), int(row[1])) if row else (0.0, 0)
    return revenue / customers if customers else 0.0


def ranked_insights(
    store: Store, *, workspace_id: str, key: str, since: datetime, until: datetime
) -> list[RankedInsight]:
    """Pain points and opportunities ranked by measured impact against effort."""
    return measured_insights(
        store, workspace_id=workspace_id, key=key, since=since, until=until, with_sentiment=False
    )[1]


#: The event columns a measurement reads (matchers, satisfaction, texts, revenue).
MEASURED_COLUMNS = ("profile_id", "timestamp", "event", "properties")
#: The event whose revenue gives the value per customer of the ranking.
ORDER_EVENT = "Order Completed"


def measured_events(document: JourneyMapDocument) -> set[str]:
    """The names of the events a measurement of ``document`` reads: its touchpoints' matchers,
    their satisfaction sources and the order event."""
    names = {ORDER_EVENT}
    for stage in document.stages:
        for touchpoint in stage.touchpoints:
            names.update(m.event for m in touchpoint.events)
            if touchpoint.satisfaction is not None:
                names.add(touchpoint.satisfaction.event)
    return names


def measured_insights(
    store: Store,
    *,
    workspace_id: str,
    key: str,
    since: datetime,
    until: datetime,
    with_sentiment: bool = True,
) -> tuple[MapMeasurement, list[RankedInsight]]:
    """The map's measurement (as ``measure``) and its ranked insights (as ``ranked_insights``)
    from one analytics engine. Raises ``NotFound`` for an unknown map."""
    if until <= since:
        raise ValidationFailed("until must be after since", field="until")
    with store.read() as conn:
        document = get_map(conn, workspace_id=workspace_id, key=key).document
        taxonomy = get_taxonomy(conn, workspace_id=workspace_id)
    with open_engine(store, workspace_id) as engine:
        # over every event of the period: the customers active in it
        value = _value_per_customer(engine, since=since, until=until, order_event=ORDER_EVENT)
        # then one query per touchpoint, satisfaction source and text: copy the period's events
        # they read into DuckDB once instead of reading the store for each of them
        engine.materialize_events(
            since=since, until=until, columns=MEASURED_COLUMNS, names=measured_events(document)
        )
        measurement = measure_map(
            engine,
            document=document,
            taxonomy=taxonomy,
            since=since,
            until=until,
            with_sentiment=with_sentiment,
        )
    return measurement, rank_insights(document, measurement, value_per_customer=value)


#: The measured period of a map report when none is given: the last 90 days up to today.
REPORT_DAYS = 90


def report_period(since: date | None, until: date | None, *, today: date) -> tuple[date, date]:
    """The first and last day (inclusive, UTC) of a map report: by default the last
    ``REPORT_DAYS`` days up to today. Raises ``ValidationFailed`` naming ``since`` when it is
    after ``until``."""
    last = until or today
    first = since or last - timedelta(days=REPORT_DAYS - 1)
    if first > last:
        raise ValidationFailed("since must be on or before until", field="since")
    return first, last


def map_report(
    store: Store,
    *,
    workspace_id: str,
    key: str,
    since: date | None,
    until: date | None,
    today: date,
) -> MapReport:
    """The map measured over whole UTC days (``report_period``) with its ranked insights, from
    one analytics engine. Raises ``NotFound`` for an unknown map."""
    first, last = report_period(since, until, today=today)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    measurement, ranked = measured_insights(
        store, workspace_id=workspace_id, key=key, since=start, until=end
    )
    return MapReport(first_day=first, last_day=last, measurement=measurement, insights=ranked)


def insight_before_after(
    store: Store,
    *,
    workspace_id: str,
    key: str,
    insight_id: str,
    since: datetime,
    until: datetime,
) -> BeforeAfter:
    """Compare the insight's stage KPI before and after its linked journey went live."""
    with store.read() as conn:
        document = get_map(conn, workspace_id=workspace_id, key=key).document
    stage_key, insight = _stage_of(document, insight_id)
    if insight.linked_at is None:
        raise ValidationFailed(
            f"{insight_id} is not linked to a journey with a date (linked_at)", field="insight_id"
        )
    if not since < insight.linked_at < until:
        raise ValidationFailed("linked_at must lie between since and until", field="since")
    before = measure(
        store,
        workspace_id=workspace_id,
        key=key,
        since=since,
        until=insight.linked_at,
        with_sentiment=False,
    )
    after = measure(
        store,
        workspace_id=workspace_id,
        key=key,
        since=insight.linked_at,
        until=until,
        with_sentiment=False,
    )
    return before_after(insight, stage_key, before, after)


# -- exports ----------------------------------------------------------------------------------

ExportFormat = Literal["json", "yaml", "csv", "svg", "png", "md", "html"]
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "yaml": "application/yaml",
    "csv": "text/csv; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def export_map(
    store: Store,
    *,
    workspace_id: str,
    key: str,
    fmt: str,
    since: datetime | None = None,
    until: datetime | None = None,
    version: int | None = None,
) -> bytes:
    """The map in ``fmt``; pictures and reports include measured data when a period is given."""
    if fmt not in MEDIA_TYPES:
        raise ValidationFailed(f"format must be one of {', '.join(MEDIA_TYPES)}", field="format")
    with store.read() as conn:
        document = get_map(conn, workspace_id=workspace_id, key=key, version=version).document
        taxonomy = get_taxonomy(conn, workspace_id=workspace_id)
    if fmt == "json":
        return map_io.dump_json(document).encode()
    if fmt == "yaml":
        return map_io.dump_yaml(document).encode()
    if fmt == "csv":
        return map_io.document_to_csv(document).encode()
    measurement = insights = None
    if since is not None and until is not None:
        measurement = measure(store, workspace_id=workspace_id, key=key, since=since, until=until)
        insights = ranked_insights(
            store, workspace_id=workspace_id, key=key, since=since, until=until
        )
    if fmt in ("svg", "png"):
        return render.render_map(document, taxonomy, measurement, fmt=fmt)  # type: ignore[arg-type]
    if fmt == "md":
        return report.markdown_report(document, taxonomy, measurement, insights).encode()
    png = render.render_map(document, taxonomy, measurement, fmt="png")
    return report.html_report(document, taxonomy, measurement, insights, map_png=png).encode()
