"""Test data for analytics: the journey/outbox tables (as the journeys and channels domains
define them; created here when the store does not have them yet), a small hand-checked journey,
and events written straight into the event log."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, inspect

from partitur.core.types import JsonDoc, UtcDateTime
from partitur.events.tables import events
from partitur.storage.engine import Store

_meta = MetaData()

journey_instances = Table(
    "journey_instances",
    _meta,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("journey_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile_id", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("entered_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("end_reason", String(100)),
    Column("current_node", String(100)),
    Column("converted_at", UtcDateTime),
    Column("revenue", Float),
    Column("split_variants", JsonDoc),
)
journey_transitions = Table(
    "journey_transitions",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("instance_id", String(40), nullable=False),
    Column("journey_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("node_id", String(100), nullable=False),
    Column("from_node", String(100)),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", String(100)),
)
messages = Table(
    "messages",
    _meta,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40)),
    Column("channel", String(30), nullable=False),
    Column("template", String(100)),
    Column("category", String(50)),
    Column("journey_id", String(40)),
    Column("journey_version", Integer),
    Column("instance_id", String(40)),
    Column("node_id", String(100)),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("opened_at", UtcDateTime),
    Column("clicked_at", UtcDateTime),
    Column("cost", Float),
    Column("error", Text),
)

D = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=10)


def ensure_journey_tables(store: Store) -> None:
    """Create the journey and outbox tables unless the store already has them."""
    existing = set(inspect(store.engine).get_table_names())
    with store.begin() as conn:
        for table in _meta.sorted_tables:
            if table.name not in existing:
                table.create(conn)


def _insert(conn: Any, name: str, rows: list[dict[str, Any]]) -> None:
    """Insert through the table as the store has it: the owning domain may have more columns
    (required ones get neutral values) and other column types (text for money)."""
    table = Table(name, MetaData(), autoload_with=conn)
    fill: dict[str, Any] = {}
    for col in table.columns:
        if col.nullable or col.server_default is not None or col.name in rows[0]:
            continue
        if col.primary_key and col.autoincrement in (True, "auto"):
            continue
        kind = type(col.type).__name__.upper()
        if "JSON" in kind:
            fill[col.name] = {}
        elif "BOOL" in kind:
            fill[col.name] = False
        elif "INT" in kind or "NUMERIC" in kind:
            fill[col.name] = 0
        elif "DATE" in kind or "TIME" in kind:
            fill[col.name] = D
        else:
            fill[col.name] = None  # text: made unique per row below
    out = []
    for i, row in enumerate(rows):
        full = {**row}
        for key, value in fill.items():
            full[key] = f"{name}-{key}-{i}" if value is None else value
        for col in table.columns:
            value = full.get(col.name)
            if isinstance(value, float) and "CHAR" in type(col.type).__name__.upper():
                full[col.name] = str(value)
            if (
                isinstance(value, dict)
                and col.name not in fill
                and "JSON" not in type(col.type).__name__.upper()
            ):
                full[col.name] = json.dumps(value)
        out.append(full)
    conn.execute(table.insert(), out)


def _instance(
    ws: str,
    iid: str,
    profile: str,
    status: str,
    entered: datetime,
    *,
    version: int = 1,
    journey: str = "j1",
    node: str | None = None,
    reason: str | None = None,
    converted: timedelta | None = None,
    revenue: float | None = None,
    split: str | None = None,
) -> dict[str, Any]:
    return {
        "id": iid,
        "workspace_id": ws,
        "journey_id": journey,
        "version": version,
        "profile_id": profile,
        "status": status,
        "entered_at": entered,
        "ended_at": entered + converted if converted else None,
        "end_reason": reason,
        "current_node": node,
        "converted_at": entered + converted if converted else None,
        "revenue": revenue,
        "split_variants": {"split1": split} if split else None,
    }


def seed_instances(store: Store, ws: str, journey: Any, now: datetime) -> None:
    """Journey ``jf``: the instances of a simulated journey (tests/support/forecasts.py) as the
    store holds them at ``now``."""
    from tests.support.forecasts import START, observed

    ensure_journey_tables(store)
    seconds = (now - START).total_seconds()
    entered, goal, ended = observed(journey, seconds)

    def at(value: float) -> datetime | None:
        return None if value != value else START + timedelta(seconds=value)

    rows = [
        {
            "id": f"f{i}",
            "workspace_id": ws,
            "journey_id": "jf",
            "version": 1,
            "profile_id": f"pf{i}",
            "status": "converted" if g == g else ("completed" if e == e else "active"),
            "entered_at": at(t),
            "ended_at": at(e),
            "converted_at": at(g),
        }
        for i, (t, g, e) in enumerate(zip(entered, goal, ended, strict=True))
    ]
    with store.begin() as conn:
        _insert(conn, "journey_instances", rows)


def seed_journey(store: Store, ws: str) -> None:
    """Journey j1: eight instances on version 1, one on version 2 (see the KPI tests)."""
    ensure_journey_tables(store)
    inst = [
        _instance(
            ws,
            "i1",
            "p1",
            "converted",
            D,
            node="goal",
            converted=1 * H,
            revenue=100.0,
            split="control",
        ),
        _instance(
            ws, "i2", "p2", "converted", D, node="goal", converted=3 * H, revenue=50.0, split="B"
        ),
        _instance(
            ws,
            "i3",
            "p3",
            "exited",
            D + 6 * H,
            node="email1",
            reason="unsubscribed",
            split="control",
        ),
        _instance(ws, "i4", "p4", "exited", D + 6 * H, node="wait1", reason="timeout", split="B"),
        _instance(
            ws, "i5", "p5", "exited", D + 24 * H, node="wait1", reason="timeout", split="control"
        ),
        _instance(ws, "i6", "p6", "active", D + 12 * H, node="wait1", split="B"),
        _instance(ws, "i7", "p7", "active", D + 84 * H, node="email1"),
        _instance(ws, "i8", "p1", "completed", D + 24 * H, node="end", split="B"),
        _instance(
            ws,
            "i9",
            "p9",
            "converted",
            D + 48 * H,
            version=2,
            node="goal",
            converted=2 * H,
            revenue=30.0,
        ),
        _instance(
            ws, "x1", "p1", "converted", D, journey="j2", node="goal", converted=H, revenue=999.0
        ),
    ]
    for row in inst:
        if row["converted_at"] is None and row["status"] in ("exited", "completed"):
            row["ended_at"] = row["entered_at"] + 2 * H
    paths = {
        "i1": ["email1", "wait1", "goal"],
        "i2": ["email1", "wait1", "sms1", "goal"],
        "i3": ["email1"],
        "i4": ["email1", "sms1", "wait1"],
        "i5": ["email1", "sms1", "wait1"],
        "i6": ["email1", "sms1", "wait1"],
        "i7": ["email1"],
        "i8": ["email1", "wait1", "end"],
        "i9": ["email1", "goal"],
    }
    entered = {r["id"]: r["entered_at"] for r in inst}
    version = {r["id"]: r["version"] for r in inst}
    transitions = [
        {
            "workspace_id": ws,
            "instance_id": iid,
            "journey_id": "j1",
            "version": version[iid],
            "node_id": node,
            "from_node": path[i - 1] if i else None,
            "at": entered[iid] + i * M,
            "reason": "advance",
        }
        for iid, path in paths.items()
        for i, node in enumerate(path)
    ]

    def msg(
        mid: str,
        iid: str,
        profile: str,
        channel: str,
        node: str,
        steps: int,
        cost: float,
        status: str = "sent",
        error: str | None = None,
    ) -> dict[str, Any]:
        t = entered[iid] + M
        return {
            "id": mid,
            "workspace_id": ws,
            "profile_id": profile,
            "channel": channel,
            "template": f"{node}-tpl",
            "category": "marketing",
            "journey_id": "j1",
            "journey_version": 1,
            "instance_id": iid,
            "node_id": node,
            "status": status,
            "attempts": 1,
            "created_at": t,
            "sent_at": t if steps >= 1 else None,
            "delivered_at": t if steps >= 2 else None,
            "opened_at": t + M if steps >= 3 else None,
            "clicked_at": t + 2 * M if steps >= 4 else None,
            "cost": cost,
            "error": error,
        }

    outbox = [
        msg("m1", "i1", "p1", "email", "email1", 4, 0.001),
        msg("m2", "i2", "p2", "email", "email1", 3, 0.001),
        msg("m3", "i3", "p3", "email", "email1", 2, 0.001),
        msg("m4", "i4", "p4", "sms", "sms1", 2, 0.05),
        msg("m5", "i5", "p5", "sms", "sms1", 1, 0.05),
        msg("m6", "i6", "p6", "sms", "sms1", 0, 0.05, "failed", "no sms provider is configured"),
    ]
    with store.begin() as conn:
        if "journeys" in inspect(conn).get_table_names():
            # the journeys themselves, where the store has them (the API answers 404 otherwise)
            _insert(
                conn,
                "journeys",
                [
                    {"id": j, "workspace_id": ws, "key": j, "name": j, "status": "active",
                     "latest_version": 2 if j == "j1" else 1, "created_at": D, "updated_at": D}
                    for j in ("j1", "j2")
                ],
            )  # fmt: skip
        _insert(conn, "journey_instances", inst)
        _insert(conn, "journey_transitions", transitions)
        _insert(conn, "messages", outbox)


def event_row(
    ws: str,
    source: str,
    name: str | None,
    at: datetime,
    *,
    actor: str = "u1",
    properties: dict[str, Any] | None = None,
    kind: str = "track",
    received: datetime | None = None,
) -> dict[str, Any]:
    return {
        "workspace_id": ws,
        "source_id": source,
        "message_id": uuid.uuid4().hex,
        "type": kind,
        "event": name,
        "user_id": actor,
        "anonymous_id": None,
        "profile_id": actor,
        "timestamp": at,
        "original_timestamp": at,
        "sent_at": at,
        "received_at": received or at,
        "properties": properties or {},
        "traits": None,
        "context": None,
        "extra": None,
    }


def insert_events(store: Store, rows: list[dict[str, Any]]) -> None:
    with store.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(events.insert(), rows[i : i + 5000])


def sent_message(
    ws: str, profile: str, channel: str, at: datetime, **fields: Any
) -> dict[str, Any]:
    """An outbox row of a message sent at ``at``."""
    return {
        "id": uuid.uuid4().hex[:20],
        "workspace_id": ws,
        "profile_id": profile,
        "channel": channel,
        "template": f"{channel}-tpl",
        "category": "marketing",
        "status": "sent",
        "created_at": at,
        "sent_at": at,
        **fields,
    }


def insert_messages(store: Store, rows: list[dict[str, Any]]) -> None:
    ensure_journey_tables(store)
    with store.begin() as conn:
        _insert(conn, "messages", rows)
